// A type parameter as the return type may or may not be an error: it
// needs `R: exitstack::Fallible`, rather than count as a success.
#[exitstack::scope]
fn run<R>(f: impl FnOnce() -> R) -> R {
    exitstack::defer!(on_success: println!("committed"));
    f()
}

fn main() {
    let _ = run(|| Err::<(), ()>(()));
}
