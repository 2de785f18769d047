//! Code generation shared by every form: a cleanup becomes a local guard on
//! the implicit stack (the enclosing block), or an entry on an explicit
//! `ExitStack`.

use proc_macro2::{Ident, Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::Expr;
use syn::spanned::Spanned;

use crate::args::{Condition, When};

/// What runs: the code of the cleanup, as the user wrote it.
pub(crate) enum Callback {
    /// Statements: the block of a `#[cleanup] fn`, the body of `defer!` or
    /// `cleanup!`. `param` is the `pattern: Type` of an exit callback.
    Body {
        capture: Option<syn::Token![move]>,
        param: Option<syn::PatType>,
        /// A braced block.
        body: TokenStream,
        /// Where the closure is reported to be (a user token).
        span: Span,
    },
    /// The value of `#[cleanup] let name = expr;`: a closure taking one
    /// `Outcome` if `takes_outcome`, else any `FnOnce()`.
    Value { expr: Expr, takes_outcome: bool },
}

impl Callback {
    fn takes_outcome(&self) -> bool {
        match self {
            Callback::Body { param, .. } => param.is_some(),
            Callback::Value { takes_outcome, .. } => *takes_outcome,
        }
    }

    /// An `FnOnce()`. Only for a callback that does not take the outcome.
    fn plain(&self) -> TokenStream {
        match self {
            Callback::Body {
                capture,
                body,
                span,
                ..
            } => quote_spanned!(*span=> #capture || #body),
            Callback::Value { expr, .. } => quote!(#expr),
        }
    }

    /// An `FnOnce(Outcome)`.
    fn with_outcome(&self) -> TokenStream {
        match self {
            // The closure takes exitstack's `Outcome` and binds the user's
            // pattern to it, so a wrong type is reported as a mismatch on
            // the user's parameter rather than a bound of `Guard::new`.
            Callback::Body {
                capture,
                param: Some(syn::PatType { pat, ty, .. }),
                body,
                span,
            } => {
                let outcome = Ident::new(
                    "__exitstack_outcome",
                    Span::mixed_site().located_at(ty.span()),
                );
                let outcome_ty =
                    quote_spanned!(Span::mixed_site()=> ::exitstack::__private::Outcome);
                quote_spanned! {*span=>
                    #capture |#outcome: #outcome_ty| {
                        let #pat: #ty = #outcome;
                        #body
                    }
                }
            }
            Callback::Body {
                capture,
                param: None,
                body,
                span,
            } => quote_spanned!(*span=> #capture |_| #body),
            Callback::Value {
                expr,
                takes_outcome: true,
            } => quote!(#expr),
            Callback::Value {
                expr,
                takes_outcome: false,
            } => {
                let span = Span::mixed_site();
                quote_spanned!(span=> ::exitstack::__private::ignore_outcome(#expr))
            }
        }
    }
}

/// One cleanup: when it runs and what runs.
pub(crate) struct Cleanup {
    pub(crate) condition: Condition,
    pub(crate) callback: Callback,
}

impl Cleanup {
    /// A guard on the implicit stack, as an expression. `scope` is the
    /// function's `Scope` local in an `#[exitstack::scope]` function; without
    /// it the condition must not need one (the caller checked).
    pub(crate) fn guard(&self, scope: Option<&Ident>) -> TokenStream {
        let span = Span::mixed_site().located_at(self.condition.span);
        let when = self.condition.when;
        match scope {
            Some(scope) => {
                let callback = self.callback.with_outcome();
                let when = when.to_path();
                quote_spanned! {span=>
                    ::exitstack::__private::Guard::scoped(&#scope, #when, #callback)
                }
            }
            None if when == When::Always && !self.callback.takes_outcome() => {
                let callback = self.callback.plain();
                quote_spanned!(span=> ::exitstack::__private::Defer::new(#callback))
            }
            None => {
                let callback = self.callback.with_outcome();
                // Best effort after an error was reported: `Guard::new`
                // rejects `When::Error`.
                let when = if when.needs_scope() {
                    When::Failure
                } else {
                    when
                }
                .to_path();
                quote_spanned!(span=> ::exitstack::__private::Guard::new(#when, #callback))
            }
        }
    }

    /// An entry on an explicit `ExitStack` (or `SendExitStack`): the
    /// expression evaluates to its `EntryKey`.
    pub(crate) fn register(&self, stack: &Expr) -> TokenStream {
        let span = Span::mixed_site().located_at(self.condition.span);
        let stack = receiver(stack);
        match self.condition.when {
            When::Always if !self.callback.takes_outcome() => {
                let callback = self.callback.plain();
                quote_spanned!(span=> #stack.callback(#callback))
            }
            When::Always => {
                let callback = self.callback.with_outcome();
                quote_spanned!(span=> #stack.push(#callback))
            }
            when => {
                let callback = self.callback.with_outcome();
                let when = when.to_path();
                let f = Ident::new("__exitstack_callback", Span::mixed_site());
                let outcome = Ident::new("__exitstack_outcome", Span::mixed_site());
                quote_spanned! {span=>
                    {
                        let #f = #callback;
                        #stack.push(move |#outcome: ::exitstack::__private::Outcome| {
                            if #when.matches(#outcome) {
                                #f(#outcome);
                            }
                        })
                    }
                }
            }
        }
    }
}

/// `stack` as the receiver of a method call: parenthesized unless it binds
/// tighter than `.` already.
fn receiver(stack: &Expr) -> TokenStream {
    match stack {
        Expr::Path(_)
        | Expr::Field(_)
        | Expr::MethodCall(_)
        | Expr::Call(_)
        | Expr::Index(_)
        | Expr::Paren(_)
        | Expr::Macro(_) => quote!(#stack),
        _ => quote!((#stack)),
    }
}
