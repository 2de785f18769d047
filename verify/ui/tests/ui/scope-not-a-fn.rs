#[exitstack::scope]
struct Transaction;

fn main() {}
