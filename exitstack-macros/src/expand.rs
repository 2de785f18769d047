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
        /// `-> Result<(), C>` of a fallible `#[cleanup] fn`.
        output: Option<TokenStream>,
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
                output,
                body,
                span,
                ..
            } => quote_spanned!(*span=> #capture || #output #body),
            Callback::Value { expr, .. } => quote!(#expr),
        }
    }

    /// An `FnOnce(Outcome)`, its parameter `typed` if it is bound to a local
    /// first.
    fn with_outcome(&self, krate: &TokenStream, typed: bool) -> TokenStream {
        match self {
            // The closure takes exitstack's `Outcome` and binds the user's
            // pattern to it, so a wrong type is reported as a mismatch on
            // the user's parameter rather than a bound of `Guard::new`.
            Callback::Body {
                capture,
                param: Some(syn::PatType { pat, ty, .. }),
                output,
                body,
                span,
            } => {
                let outcome = Ident::new(
                    "__exitstack_outcome",
                    Span::mixed_site().located_at(ty.span()),
                );
                let outcome_ty = quote_spanned!(Span::mixed_site()=> #krate::__private::Outcome);
                quote_spanned! {*span=>
                    #capture |#outcome: #outcome_ty| #output {
                        let #pat: #ty = #outcome;
                        #body
                    }
                }
            }
            Callback::Body {
                capture,
                param: None,
                output,
                body,
                span,
            } => {
                // Typed for a fallible cleanup, whose closure is bound
                // before it is passed on: its error type is then known
                // (from the body) when the bounds on it are checked.
                let outcome_ty = typed
                    .then(|| quote_spanned!(Span::mixed_site()=> : #krate::__private::Outcome));
                let output = match output {
                    None if typed => Some(quote_spanned! {Span::mixed_site().located_at(*span)=>
                        -> ::core::result::Result<(), _>
                    }),
                    output => output.clone(),
                };
                quote_spanned!(*span=> #capture |_ #outcome_ty| #output #body)
            }
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
    /// A fallible cleanup (`try`, or a `#[cleanup] fn` with a return type):
    /// where it says so. Its callback returns `Result<(), C>`.
    pub(crate) fallible: Option<Span>,
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
        if let Some(at) = self.fallible {
            return self.fallible_guard(krate, locals, at);
        }
        match locals {
            Some(locals) => {
                let callback = self.callback.with_outcome(krate, false);
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
                let callback = self.callback.with_outcome(krate, false);
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

    /// A fallible cleanup of the implicit stack: its error goes into the
    /// function's `Failed` slot, through the public `HoldsCleanupError`,
    /// whose bounds are reported at `at` (the user's `try`, or the return
    /// type of the `#[cleanup] fn`). Without `locals` (an error was
    /// reported), best effort: a guard that drops the result.
    fn fallible_guard(
        &self,
        krate: &TokenStream,
        locals: Option<&Locals>,
        at: Span,
    ) -> TokenStream {
        let span = Span::mixed_site().located_at(self.condition.span);
        let callback = self.callback.with_outcome(krate, true);
        let Some(locals) = locals else {
            let f = Ident::new("__exitstack_callback", Span::mixed_site());
            let outcome = Ident::new("__exitstack_outcome", Span::mixed_site());
            let when = When::Always.to_path(krate);
            return quote_spanned! {span=>
                #krate::__private::Guard::new(#when, {
                    let #f = #callback;
                    move |#outcome| {
                        let _ = #f(#outcome);
                    }
                })
            };
        };
        let check = self.can_fail(krate, locals);
        let scope = &locals.scope;
        let failed = locals.uses_failed(at);
        let when = self.condition.when.to_path(krate);
        let at = Span::mixed_site().located_at(at);
        let holds = crate::site::at(&quote!(#krate::HoldsCleanupError::__guard), at);
        // Bound first, so that its error type is known when the bounds are
        // checked (and named in their message).
        let cleanup = Ident::new("__exitstack_cleanup", at);
        quote_spanned! {span=> {
            #check
            let #cleanup = #callback;
            #holds(#cleanup, &#failed, &#scope, #when)
        }}
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
        // A fallible cleanup registers through the `try_` methods, whose
        // error `close()` returns; a skipped one then returns `Ok(())`.
        let (callback_method, push_method, skipped) = if self.fallible.is_some() {
            (
                quote!(try_callback),
                quote!(try_push),
                quote!(else { ::core::result::Result::Ok(()) }),
            )
        } else {
            (quote!(callback), quote!(push), quote!())
        };
        match self.condition.when {
            When::Always if !self.callback.takes_outcome() => {
                let callback = self.callback.plain();
                quote_spanned!(span=> #stack.#callback_method(#callback))
            }
            When::Always => {
                let callback = self.callback.with_outcome(krate, false);
                quote_spanned!(span=> #stack.#push_method(#callback))
            }
            when => {
                let callback = self.callback.with_outcome(krate, false);
                let when = when.to_path(krate);
                let f = Ident::new("__exitstack_callback", Span::mixed_site());
                let outcome = Ident::new("__exitstack_outcome", Span::mixed_site());
                quote_spanned! {span=>
                    {
                        let #f = #callback;
                        #stack.#push_method(move |#outcome: #krate::__private::Outcome| {
                            if #when.matches(#outcome) {
                                #f(#outcome)
                            } #skipped
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
        .then(|| quote_spanned!(span=> <_ as #krate::Fallible>::__exitstack_can_fail(#ret.ty());))
}

/// An async cleanup (`future` is its `async` block, whose `async` is at
/// `at`) on the function's implicit asynchronous stack: `defer!` (`handle`
/// false) registers it, `cleanup!` also returns the handle that cancels it.
/// A fallible one (`try` at `fallible`) first has its error go into the
/// function's `Failed` slot. The one place an async cleanup is expanded.
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
    fallible: Option<Span>,
) -> TokenStream {
    let span = Span::mixed_site().located_at(condition.span);
    let krate = &locals.krate;
    let check = can_fail(condition, krate, locals);
    let when = condition.when.to_path(krate);
    let at = Span::mixed_site().located_at(at);
    let (method, failed) = match fallible {
        Some(fallible) => {
            let failed = locals.uses_failed(fallible);
            let mut scope = locals.scope.clone();
            scope.set_span(scope.span().located_at(fallible));
            (
                "__try_async_cleanup",
                Some(quote_spanned!(Span::mixed_site().located_at(fallible)=> &#failed, &#scope,)),
            )
        }
        None => ("__async_cleanup", None),
    };
    let method = Ident::new(method, at);
    let marker = Ident::new(if locals.send { "Sendable" } else { "Local" }, at);
    let entry_for = crate::site::at(&quote!(#krate::EntryFor::<#krate::#marker>), at);
    let mut stack = stack.clone();
    stack.set_span(stack.span().located_at(at));
    let future = if locals.spawning {
        // The spawner may run it after the function returned: it must own
        // what it uses, which is checked on its own tokens.
        quote_spanned!(at=> #krate::__private::spawner_may_run_it_after_the_function_returned(#future))
    } else {
        future.clone()
    };
    let register = quote_spanned!(at=> #entry_for::#method(#future, #failed &#stack, #when));
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
