// Policy 7: a callback cannot reach the stack it is registered on.
use exitstack::ExitStack;

fn main() {
    let stack = ExitStack::new();
    stack.callback(|| println!("{} entries left", stack.len()));
}
