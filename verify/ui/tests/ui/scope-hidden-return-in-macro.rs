// A `return` inside a macro's own definition cannot be seen by the
// attribute: it does not compile, rather than return unobserved.
macro_rules! fail {
    () => {
        return Err("failed".to_owned())
    };
}

#[exitstack::scope]
fn save(ok: bool) -> Result<(), String> {
    exitstack::defer!(on_error: println!("rolled back"));
    if !ok {
        fail!();
    }
    Ok(())
}

fn main() {
    let _ = save(true);
}
