use exitstack::cleanup;

#[cleanup]
fn release() {}

fn main() {}
