//! Errors: `syn::Error`s spanned on the user's tokens, collected so that one
//! expansion reports every mistake at once.
//!
//! Two kinds of failure:
//!
//! * **fatal**: the input is not what the macro applies to at all (not a
//!   `fn`, does not parse). The core returns `Err`, and the entry point emits
//!   the error beside the user's tokens unchanged ([`beside`]).
//! * **recoverable**: a mistake inside an input that was understood (a bad
//!   argument, a parameter a cleanup cannot take, `cleanup!` in a closure).
//!   The expansion goes on with a best-effort reading of the code and the
//!   error is [pushed](Errors::push) to an [`Errors`], emitted beside that
//!   expansion: one mistake gives one message, and the rest of the function
//!   still type-checks (and stays visible to an IDE).

use proc_macro2::TokenStream;

/// `syn::Error::new_spanned` with a formatted message.
macro_rules! format_err {
    ($tokens:expr, $($message:tt)+) => {
        ::syn::Error::new_spanned(&$tokens, ::std::format!($($message)+))
    };
}

/// Returns a fatal [`format_err!`] from the current function.
macro_rules! bail {
    ($($args:tt)+) => {
        return ::core::result::Result::Err(format_err!($($args)+))
    };
}

pub(crate) use {bail, format_err};

/// Every recoverable error of one expansion, combined with
/// [`syn::Error::combine`].
#[derive(Default)]
pub(crate) struct Errors(Option<syn::Error>);

impl Errors {
    pub(crate) fn push(&mut self, error: syn::Error) {
        match &mut self.0 {
            Some(errors) => errors.combine(error),
            None => self.0 = Some(error),
        }
    }

    /// The value of `result`, or `None` after recording its error.
    pub(crate) fn ok<T>(&mut self, result: syn::Result<T>) -> Option<T> {
        result.map_err(|error| self.push(error)).ok()
    }

    /// `Ok(value)` if no error was pushed.
    pub(crate) fn finish<T>(self, value: T) -> syn::Result<T> {
        match self.0 {
            Some(errors) => Err(errors),
            None => Ok(value),
        }
    }

    /// `tokens`, followed by a `compile_error!` for each error.
    pub(crate) fn emit_with(self, mut tokens: TokenStream) -> TokenStream {
        if let Some(errors) = self.0 {
            tokens.extend(errors.into_compile_error());
        }
        tokens
    }
}

/// A fatal error, emitted beside the user's tokens as they were written.
pub(crate) fn beside(error: syn::Error, item: TokenStream) -> TokenStream {
    let mut tokens = error.into_compile_error();
    tokens.extend(item);
    tokens
}
