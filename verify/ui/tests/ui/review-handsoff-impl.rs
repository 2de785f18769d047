// `HandsOff` is public and unsealed: a user cannot implement it for a
// shorter-lived stack (the orphan rule), but can for a type of their own,
// which is meaningless (nit: seal it).
use exitstack::{HandsOff, SendAsyncExitStack};

struct Mine;

impl HandsOff for Mine {
    fn __into_static(&mut self) -> SendAsyncExitStack<'static> {
        SendAsyncExitStack::new()
    }
}

impl<'a> HandsOff for SendAsyncExitStack<'a> {
    fn __into_static(&mut self) -> SendAsyncExitStack<'static> {
        SendAsyncExitStack::new()
    }
}

fn main() {}
