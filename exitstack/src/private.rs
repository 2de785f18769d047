//! Items that macro expansions name through `::exitstack::__private`.
//! Not public API.

pub use crate::{Defer, Guard, Outcome, Scope, When};
