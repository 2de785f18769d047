// A type parameter inside the return type (`Wrapper<T>`, found by review:
// it used to count as never an error) needs the bound too.
struct Wrapper<T>(T);

impl<T: exitstack::Fallible> exitstack::Fallible for Wrapper<T> {
    fn is_error(&self) -> bool {
        self.0.is_error()
    }
}

#[exitstack::scope]
fn wrapped<T>(f: impl FnOnce() -> T) -> Wrapper<T> {
    exitstack::defer!(on_success: println!("committed"));
    Wrapper(f())
}

fn main() {
    let _ = wrapped(|| Err::<(), ()>(()));
}
