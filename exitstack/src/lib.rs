//! exitstack (crate docs are written in `stack` work; placeholder)
#![cfg_attr(not(feature = "std"), no_std)]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(missing_docs)]

#[cfg(feature = "alloc")]
extern crate alloc;

#[cfg(feature = "alloc")]
mod error;
mod guard;
mod macros;
mod outcome;
mod private;
#[cfg(feature = "alloc")]
mod raw;
#[cfg(feature = "alloc")]
mod stack;
mod unwind;

#[cfg(feature = "alloc")]
pub use error::{BoxError, CancelError, CleanupError, Iter};
pub use guard::{Defer, Guard, Scope};
pub use outcome::{Outcome, When};
#[cfg(feature = "alloc")]
pub use raw::EntryKey;
#[cfg(feature = "alloc")]
pub use stack::{ExitContext, ExitStack, SendExitStack};

#[cfg(feature = "macros")]
#[doc(inline)]
pub use exitstack_macros::{cleanup, scope};

/// Not public API: what the macros' expansions name. May change in any
/// release.
#[doc(hidden)]
pub mod __private {
    pub use crate::private::*;
}
