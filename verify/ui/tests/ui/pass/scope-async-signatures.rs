// Async cleanups leave signatures alone too: receivers, generics, lifetimes
// in the return type, `impl Trait` (also inside a `Result`), trait methods,
// `unsafe`, other attributes, and types the body shadows.
use std::fmt::Display;

use exitstack::defer;

struct Service {
    name: String,
}

impl Service {
    #[exitstack::scope]
    async fn by_ref(&self) -> &str {
        defer!(async { assert_eq!(self.name, "svc") });
        &self.name
    }

    #[exitstack::scope]
    async fn by_mut(&mut self) -> Result<(), String> {
        let name = self.name.clone();
        defer!(on_error: async move { println!("{name}") });
        self.name.clear();
        Ok(())
    }

    #[exitstack::scope]
    pub(crate) async fn by_value(self) -> String {
        defer!(async {});
        self.name
    }
}

#[exitstack::scope]
#[inline]
async fn generic<'a, T: Display + Default + Send>(prefix: &'a str) -> Result<(&'a str, T), String>
where
    T: Clone,
{
    defer!(on_error: async { println!("{prefix}") });
    Ok((prefix, T::default()))
}

#[exitstack::scope]
async fn opaque(n: u8) -> Result<impl Display, String> {
    defer!(on_failure: async {});
    if n > 1 {
        Ok(n)
    } else {
        Err(format!("{n} is too small"))
    }
}

#[exitstack::scope]
async unsafe fn raw(pointer: *const u8) -> u8 {
    defer!(async {});
    // SAFETY: the caller passes a valid pointer.
    unsafe { *pointer }
}

trait Store {
    #[exitstack::scope]
    async fn store(&self) -> Result<(), String> {
        defer!(on_error: async {});
        Ok(())
    }
}

impl Store for Service {}

/// A body that declares a type named like the return type: the return type
/// is named outside the user's block.
#[exitstack::scope]
async fn shadowing() -> Result<u8, String> {
    #[allow(dead_code)]
    struct Result;
    defer!(async {});
    Ok(1)
}

fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    loop {
        if let std::task::Poll::Ready(value) = future.as_mut().poll(&mut cx) {
            return value;
        }
    }
}

fn main() {
    let mut service = Service {
        name: "svc".to_owned(),
    };
    assert_eq!(block_on(service.by_ref()), "svc");
    block_on(service.by_mut()).unwrap();
    block_on(service.store()).unwrap();
    assert_eq!(block_on(service.by_value()), "");
    assert_eq!(block_on(generic::<u8>("p")).unwrap(), ("p", 0));
    assert_eq!(block_on(opaque(2)).unwrap().to_string(), "2");
    // SAFETY: a valid pointer.
    assert_eq!(block_on(unsafe { raw(&7) }), 7);
    assert_eq!(block_on(shadowing()), Ok(1));
}
