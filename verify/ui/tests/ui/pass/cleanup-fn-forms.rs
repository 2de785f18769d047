// The decorator form outside a scope: every condition that needs none,
// the `Outcome` parameter, `cancel()` and `run()`.
use exitstack::{Outcome, cleanup};

fn main() {
    let mut released = 0;
    #[cleanup]
    fn release() {
        released += 1;
    }
    #[cleanup(on_success)]
    fn commit(outcome: Outcome) {
        assert_eq!(outcome, Outcome::Success);
    }
    #[cleanup(on_panic)]
    fn roll_back(_: exitstack::Outcome) {}
    #[cleanup(always)]
    fn cancelled() {
        unreachable!();
    }
    #[exitstack::cleanup]
    fn run_now() {}
    cancelled.cancel();
    run_now.run();
}
