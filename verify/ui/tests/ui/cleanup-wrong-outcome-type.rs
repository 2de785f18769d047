use exitstack::cleanup;

/// Not `exitstack::Outcome`.
enum Outcome {
    Done,
}

fn main() {
    #[cleanup]
    fn report(outcome: Outcome) {}
}
