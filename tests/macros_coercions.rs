//! Returned values keep their coercions under `#[exitstack::scope]`: in
//! `return`, after a `?`, and in the tail; sync, async, and async with an
//! async cleanup.
#![allow(
    clippy::unnecessary_wraps,
    clippy::needless_return,
    reason = "the cases"
)]

use std::error::Error;
use std::fmt::{self, Debug, Display};

use exitstack::defer;

#[derive(Debug)]
struct Oops;

impl Display for Oops {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("oops")
    }
}

impl Error for Oops {}

fn double(x: u32) -> u32 {
    x * 2
}

/// One set of functions per flavour: `$($async)?` and a cleanup statement.
macro_rules! cases {
    ($module:ident, [$($async:tt)?], {$($cleanup:tt)*}, {$($plain:tt)*}) => {
        mod $module {
            use super::*;

            pub struct Named {
                pub name: String,
                pub values: Vec<u8>,
            }

            #[exitstack::scope]
            pub $($async)? fn boxed_error(fail: bool) -> Result<u8, Box<dyn Error>> {
                $($cleanup)*
                if fail {
                    return Err(Box::new(Oops));
                }
                let n: u8 = "7".parse()?;
                if n == 0 { Err(Box::new(Oops)) } else { Ok(n) }
            }

            impl Named {
                #[exitstack::scope]
                pub $($async)? fn name(&self, early: bool) -> Result<&str, Box<dyn Error>> {
                    $($cleanup)*
                    if early {
                        return Ok(&self.name);
                    }
                    let _: u8 = "1".parse()?;
                    Ok(&self.name)
                }

                #[exitstack::scope]
                pub $($async)? fn values(&mut self) -> Result<&mut Vec<u8>, Oops> {
                    $($cleanup)*
                    Ok(&mut self.values)
                }
            }

            #[exitstack::scope]
            pub $($async)? fn fn_pointer(early: bool) -> Result<fn(u32) -> u32, Oops> {
                $($cleanup)*
                if early {
                    return Ok(double);
                }
                Ok(double)
            }

            #[exitstack::scope]
            pub $($async)? fn boxed_closure(early: bool) -> Result<Box<dyn Fn() -> u32>, Oops> {
                $($cleanup)*
                if early {
                    return Ok(Box::new(|| 1));
                }
                Ok(Box::new(|| 2))
            }

            #[exitstack::scope]
            pub $($async)? fn boxed_debug(early: bool) -> Option<Box<dyn Debug>> {
                $($plain)*
                if early {
                    return Some(Box::new(1u8));
                }
                let _ = Some(1)?;
                Some(Box::new(2u8))
            }
        }
    };
}

cases!(
    sync,
    [],
    {
        defer!(on_error: println!("failed"));
    },
    {
        defer!(println!("done"));
    }
);
cases!(asynchronous, [async], { defer!(on_error: println!("failed")); }, { defer!(println!("done")); });
cases!(
    async_cleanup,
    [async],
    { defer!(on_error: async { println!("failed") }); },
    { defer!(async { println!("done") }); }
);

fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    loop {
        if let std::task::Poll::Ready(value) = future.as_mut().poll(&mut cx) {
            return value;
        }
    }
}

#[test]
fn coercions_compile_and_return_the_value() {
    for early in [true, false] {
        assert!(sync::boxed_error(early).is_err() == early);
        assert!(block_on(asynchronous::boxed_error(early)).is_err() == early);
        assert!(block_on(async_cleanup::boxed_error(early)).is_err() == early);
        let mut named = sync::Named {
            name: "db".to_owned(),
            values: vec![1],
        };
        assert_eq!(named.name(early).unwrap(), "db");
        named.values().unwrap().push(2);
        assert_eq!(named.values.len(), 2);
        let mut named = async_cleanup::Named {
            name: "db".to_owned(),
            values: vec![1],
        };
        assert_eq!(block_on(named.name(early)).unwrap(), "db");
        block_on(named.values()).unwrap().push(2);
        assert_eq!(named.values.len(), 2);
        let mut named = asynchronous::Named {
            name: "db".to_owned(),
            values: vec![],
        };
        assert_eq!(block_on(named.name(early)).unwrap(), "db");
        block_on(named.values()).unwrap().push(1);
        assert_eq!(named.values, [1]);
        assert_eq!(block_on(asynchronous::fn_pointer(early)).unwrap()(4), 8);
        let one_or_two = if early { 1 } else { 2 };
        assert_eq!(
            block_on(asynchronous::boxed_closure(early)).unwrap()(),
            one_or_two
        );
        assert_eq!(
            block_on(async_cleanup::boxed_closure(early)).unwrap()(),
            one_or_two
        );
        assert_eq!(sync::fn_pointer(early).unwrap()(2), 4);
        assert_eq!(block_on(async_cleanup::fn_pointer(early)).unwrap()(3), 6);
        assert_eq!(
            sync::boxed_closure(early).unwrap()(),
            if early { 1 } else { 2 }
        );
        assert_eq!(
            format!("{:?}", sync::boxed_debug(early).unwrap()),
            if early { "1" } else { "2" }
        );
        assert!(block_on(asynchronous::boxed_debug(early)).is_some());
        assert!(block_on(async_cleanup::boxed_debug(early)).is_some());
    }
}
