// A SendExitStack of Send entries is itself Send; the plain one is not needed here.
fn main() {
    let stack = exitstack::SendExitStack::new();
    let name = String::from("worker");
    stack.callback(move || println!("{name} released"));
    std::thread::spawn(move || drop(stack)).join().unwrap();
}
