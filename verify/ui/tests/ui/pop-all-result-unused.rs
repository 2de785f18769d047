// `stack.pop_all();` runs the cleanups at once (the popped stack is
// dropped): warned, with a pointer to `cancel_all()` for "skip them".
#![deny(unused_must_use)]

fn main() {
    let mut stack = exitstack::ExitStack::new();
    stack.callback(|| println!("cleanup"));
    stack.pop_all();
}
