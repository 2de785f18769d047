// A stack whose entries borrow cannot hand them to a spawner.
fn main() {
    let name = String::from("db");
    let mut stack = exitstack::SendAsyncExitStack::new();
    stack.push_async_callback(async || println!("close {name}"));
    stack.set_spawner(drop);
}
