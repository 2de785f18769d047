//! Code generation shared by every form: a cleanup becomes a local guard on
//! the implicit stack (the enclosing block), or an entry on an explicit
//! `ExitStack`.

use proc_macro2::{Ident, Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::Expr;
use syn::spanned::Spanned;

use crate::args::{Condition, When};
use crate::site::Locals;

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
    fn with_outcome(&self, krate: &TokenStream) -> TokenStream {
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
                let outcome_ty = quote_spanned!(Span::mixed_site()=> #krate::__private::Outcome);
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
                quote_spanned!(span=> #krate::__private::ignore_outcome(#expr))
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
    /// A guard on the implicit stack, as an expression: tied to the
    /// function's scope where `locals` are given (an `#[exitstack::scope]`
    /// function, for a cleanup that needs it), else a plain guard, whose
    /// condition must not need a scope (the caller reported it).
    ///
    /// This is the one place a synchronous cleanup of the implicit stack is
    /// expanded: `defer!`, `cleanup!`, `#[cleanup] fn` and `#[cleanup] let`,
    /// in a scope or not, all come here.
    pub(crate) fn guard(&self, krate: &TokenStream, locals: Option<&Locals>) -> TokenStream {
        let span = Span::mixed_site().located_at(self.condition.span);
        let when = self.condition.when;
        match locals {
            Some(locals) => {
                let callback = self.callback.with_outcome(krate);
                let check = self.can_fail(krate, locals);
                let scope = &locals.scope;
                let when = when.to_path(krate);
                quote_spanned! {span=> {
                    #check
                    #krate::__private::Guard::watching(&#scope, #when, #callback)
                }}
            }
            None if when == When::Always && !self.callback.takes_outcome() => {
                let callback = self.callback.plain();
                quote_spanned!(span=> #krate::__private::Defer::new(#callback))
            }
            None => {
                let callback = self.callback.with_outcome(krate);
                // Best effort after an error was reported: `Guard::new`
                // rejects `When::Error`.
                let when = if when.needs_scope() {
                    When::Failure
                } else {
                    when
                }
                .to_path(krate);
                quote_spanned!(span=> #krate::__private::Guard::new(#when, #callback))
            }
        }
    }

    pub(crate) fn takes_outcome(&self) -> bool {
        self.callback.takes_outcome()
    }

    fn can_fail(&self, krate: &TokenStream, locals: &Locals) -> Option<TokenStream> {
        can_fail(self.condition, krate, locals)
    }

    /// An entry on an explicit `ExitStack` (or `SendExitStack`): the
    /// expression evaluates to its `EntryKey`.
    pub(crate) fn register(&self, krate: &TokenStream, stack: &Expr) -> TokenStream {
        let span = Span::mixed_site().located_at(self.condition.span);
        let stack = receiver(stack);
        match self.condition.when {
            When::Always if !self.callback.takes_outcome() => {
                let callback = self.callback.plain();
                quote_spanned!(span=> #stack.callback(#callback))
            }
            When::Always => {
                let callback = self.callback.with_outcome(krate);
                quote_spanned!(span=> #stack.push(#callback))
            }
            when => {
                let callback = self.callback.with_outcome(krate);
                let when = when.to_path(krate);
                let f = Ident::new("__exitstack_callback", Span::mixed_site());
                let outcome = Ident::new("__exitstack_outcome", Span::mixed_site());
                quote_spanned! {span=>
                    {
                        let #f = #callback;
                        #stack.push(move |#outcome: #krate::__private::Outcome| {
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

/// For a cleanup that runs on an error: requires that the function's return
/// type can be one, reported on the condition keyword.
pub(crate) fn can_fail(
    condition: Condition,
    krate: &TokenStream,
    locals: &Locals,
) -> Option<TokenStream> {
    let span = Span::mixed_site().located_at(condition.span);
    let krate = crate::site::at(krate, span);
    let mut ret = locals.ret.clone();
    ret.set_span(ret.span().located_at(span));
    condition
        .when
        .needs_scope()
        .then(|| quote_spanned!(span=> #krate::__private::can_fail(&#ret);))
}

/// An async cleanup (`future` is its `async` block, whose `async` is at
/// `at`) on the function's implicit asynchronous stack: `defer!` (`handle`
/// false) registers it, `cleanup!` also returns the handle that cancels it.
/// The one place an async cleanup is expanded.
///
/// It is registered through `exitstack::EntryFor`, a public trait whose
/// impls know whether the future must be `Send`: a future that is not is
/// reported at its `async`, with no private bound in the notes.
pub(crate) fn register_async(
    condition: Condition,
    locals: &Locals,
    stack: &Ident,
    future: &TokenStream,
    handle: bool,
    at: Span,
) -> TokenStream {
    let span = Span::mixed_site().located_at(condition.span);
    let krate = &locals.krate;
    let check = can_fail(condition, krate, locals);
    let when = condition.when.to_path(krate);
    let at = Span::mixed_site().located_at(at);
    let method = Ident::new("__async_cleanup", at);
    let marker = Ident::new(if locals.send { "Sendable" } else { "Local" }, at);
    let entry_for = crate::site::at(&quote!(#krate::EntryFor::<#krate::#marker>), at);
    let mut stack = stack.clone();
    stack.set_span(stack.span().located_at(at));
    let register = quote_spanned!(at=> #entry_for::#method(#future, &#stack, #when));
    let register = if handle {
        register
    } else {
        quote_spanned!(span=> let _ = #register;)
    };
    quote_spanned! {span=> {
        #check
        #register
    }}
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
