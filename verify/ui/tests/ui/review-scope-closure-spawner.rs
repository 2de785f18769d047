// `AsyncStack::scope` whose body sets a spawner: its entries must own what
// they use.
fn main() {
    let name = String::from("db");
    let _ = exitstack::SendAsyncExitStack::scope(async |stack| {
        stack.set_spawner(drop);
        stack.push_async_callback(async || println!("{name}"));
        Ok::<(), ()>(())
    });
}
