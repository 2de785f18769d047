// A `'static` stack with a spawner must not become a shorter-lived one
// (which could then take a borrowing entry and hand it off).
use exitstack::SendAsyncExitStack;

fn shorten<'s>(stack: SendAsyncExitStack<'static>) -> SendAsyncExitStack<'s> {
    stack
}

fn shorten_ref<'r, 's>(stack: &'r mut SendAsyncExitStack<'static>) -> &'r mut SendAsyncExitStack<'s> {
    stack
}

fn main() {
    let name = String::from("db");
    let stack = shorten(SendAsyncExitStack::with_spawner(drop));
    stack.push_async_callback(async || println!("{name}"));
    let mut other = SendAsyncExitStack::with_spawner(drop);
    shorten_ref(&mut other).push_async_callback(async || println!("{name}"));
}
