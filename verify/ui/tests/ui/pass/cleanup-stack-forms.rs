// `#[cleanup(stack = ...)]`: Python's `@stack.callback`, on both stacks.
use exitstack::{ExitStack, Outcome, SendExitStack, cleanup};

fn main() {
    let mut stack = ExitStack::new();
    #[cleanup(stack = stack)]
    fn close() {}
    #[cleanup(on_error, stack = stack)]
    fn roll_back(outcome: Outcome) {
        assert_eq!(outcome, Outcome::Error);
    }
    stack.cancel(&close).unwrap();
    let _ = roll_back;
    stack.close_with(Outcome::Error).unwrap();

    let send = SendExitStack::new();
    let name = String::from("worker");
    #[cleanup(move, stack = send)]
    fn report() {
        println!("{name} done");
    }
    std::thread::spawn(move || drop(send)).join().unwrap();
}
