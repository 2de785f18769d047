// Every `defer!` form, outside and inside `#[exitstack::scope]`.
use exitstack::defer;

#[exitstack::scope]
fn in_scope() -> Result<(), String> {
    defer!(println!("always"));
    defer!(on_success: println!("on success"));
    defer!(on_error: println!("on error"));
    defer!(on_panic: println!("on panic"));
    defer!(on_failure: println!("on failure"));
    Ok(())
}

fn main() {
    defer! { println!("braced"); }
    defer!(always: println!("always"));
    defer!(on_success: println!("on success"));
    defer!(on_panic: println!("on panic"));
    exitstack::defer!(println!("qualified, no import needed"));
    in_scope().unwrap();
}
