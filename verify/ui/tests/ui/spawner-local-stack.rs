// Only a `SendAsyncExitStack<'static>` can hand its cleanups to a spawner.
fn main() {
    let mut stack = exitstack::AsyncExitStack::new();
    stack.set_spawner(drop);
}
