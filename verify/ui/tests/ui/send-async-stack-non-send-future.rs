// A SendAsyncExitStack only takes async cleanups whose futures are Send.
use std::rc::Rc;

fn main() {
    let stack = exitstack::SendAsyncExitStack::new();
    stack.push_async_callback(async || {
        let local = Rc::new(5);
        std::future::ready(()).await;
        drop(local);
    });
}
