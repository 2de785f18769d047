// A SendExitStack only takes entries that can move to another thread.
use std::rc::Rc;

fn main() {
    let stack = exitstack::SendExitStack::new();
    let shared = Rc::new(5);
    stack.callback(move || drop(shared));
}
