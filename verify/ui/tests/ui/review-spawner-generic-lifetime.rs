// A stack generic over its lifetime cannot be given a spawner.
fn give<'a>(stack: &mut exitstack::SendAsyncExitStack<'a>) {
    stack.set_spawner(drop);
}

fn main() {
    give(&mut exitstack::SendAsyncExitStack::new());
}
