//! Where a cleanup is written, as far as the macros can tell: what its
//! implicit stack can observe.

use std::fmt;

use proc_macro2::Ident;

use crate::args::{Condition, When};

/// A scope of its own inside an `#[exitstack::scope]` fn: its `return` and
/// `?` are not the function's, so the function's scope does not observe it.
#[derive(Clone, Copy)]
pub(crate) enum Nested {
    Closure,
    AsyncBlock,
    ConstBlock,
    TryBlock,
    /// The code of a cleanup: itself a closure.
    Cleanup,
}

impl fmt::Display for Nested {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Nested::Closure => "a closure",
            Nested::AsyncBlock => "an async block",
            Nested::ConstBlock => "a const block",
            Nested::TryBlock => "a try block",
            Nested::Cleanup => "a cleanup",
        })
    }
}

pub(crate) enum Site<'a> {
    /// No enclosing `#[exitstack::scope]` fn: the standalone `#[cleanup]`.
    Standalone,
    /// The body of an `#[exitstack::scope]` fn, whose `Scope` local is named.
    Scope(&'a Ident),
    /// A closure (or the like) inside one.
    Nested(Nested),
}

impl Site<'_> {
    /// The function's `Scope` local, where cleanups are tied to it.
    pub(crate) fn scope(&self) -> Option<&Ident> {
        match self {
            Site::Scope(scope) => Some(scope),
            Site::Standalone | Site::Nested(_) => None,
        }
    }

    /// The error for `form` (an `on_error` / `on_failure` cleanup, written
    /// as the user wrote it) where no `Err` return can be observed.
    pub(crate) fn needs_scope_error(&self, condition: Condition, form: &str) -> syn::Error {
        let message = match self {
            Site::Scope(_) => unreachable!("a scope observes errors"),
            Site::Standalone => {
                let mut message = format!(
                    "`{form}` needs `#[exitstack::scope]` on the enclosing function: \
                     without it, returning an `Err` cannot be observed"
                );
                if condition.when == When::Failure {
                    message.push_str("; for panics only, write `on_panic`");
                }
                message
            }
            Site::Nested(nested) => format!(
                "`{form}` cannot see the function's `Err` from inside {nested}, which is a scope \
                 of its own that `#[exitstack::scope]` does not observe: move the cleanup out of \
                 it, or move its code into an `#[exitstack::scope]` fn"
            ),
        };
        syn::Error::new(condition.span, message)
    }
}
