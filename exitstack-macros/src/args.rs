//! Parsing of what the macros take besides the code: the condition a cleanup
//! runs on, and the `#[cleanup(...)]` arguments.

use proc_macro2::{Span, TokenStream};
use quote::quote_spanned;
use syn::parse::{Lookahead1, Parse, ParseStream};
use syn::{Expr, Ident, Token};

use crate::error::Errors;

mod kw {
    syn::custom_keyword!(always);
    syn::custom_keyword!(on_success);
    syn::custom_keyword!(on_error);
    syn::custom_keyword!(on_panic);
    syn::custom_keyword!(on_failure);
    syn::custom_keyword!(stack);
}

/// Which outcomes a cleanup runs on: `exitstack::When`, as written.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum When {
    Always,
    Success,
    Error,
    Panic,
    Failure,
}

impl When {
    /// `on_error` and `on_failure` need to see an `Err` return, which only
    /// an `#[exitstack::scope]` function (or an explicit stack) observes.
    pub(crate) fn needs_scope(self) -> bool {
        matches!(self, When::Error | When::Failure)
    }

    pub(crate) fn keyword(self) -> &'static str {
        match self {
            When::Always => "always",
            When::Success => "on_success",
            When::Error => "on_error",
            When::Panic => "on_panic",
            When::Failure => "on_failure",
        }
    }

    /// The `::exitstack::When` value.
    pub(crate) fn to_path(self) -> TokenStream {
        let span = Span::mixed_site();
        match self {
            When::Always => quote_spanned!(span=> ::exitstack::__private::When::Always),
            When::Success => quote_spanned!(span=> ::exitstack::__private::When::Success),
            When::Error => quote_spanned!(span=> ::exitstack::__private::When::Error),
            When::Panic => quote_spanned!(span=> ::exitstack::__private::When::Panic),
            When::Failure => quote_spanned!(span=> ::exitstack::__private::When::Failure),
        }
    }
}

/// A condition keyword as written, with its span for error messages.
#[derive(Clone, Copy)]
pub(crate) struct Condition {
    pub(crate) when: When,
    pub(crate) span: Span,
}

impl Condition {
    /// The default: no keyword written.
    pub(crate) fn always(span: Span) -> Self {
        Condition {
            when: When::Always,
            span,
        }
    }

    fn peek(lookahead: &Lookahead1<'_>) -> bool {
        // Each `peek` adds the keyword to the "expected one of" message, so
        // every one must be asked even after a match.
        let peeks = [
            lookahead.peek(kw::always),
            lookahead.peek(kw::on_success),
            lookahead.peek(kw::on_error),
            lookahead.peek(kw::on_panic),
            lookahead.peek(kw::on_failure),
        ];
        peeks.contains(&true)
    }
}

impl Parse for Condition {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let lookahead = input.lookahead1();
        let (when, span) = if lookahead.peek(kw::always) {
            (When::Always, input.parse::<kw::always>()?.span)
        } else if lookahead.peek(kw::on_success) {
            (When::Success, input.parse::<kw::on_success>()?.span)
        } else if lookahead.peek(kw::on_error) {
            (When::Error, input.parse::<kw::on_error>()?.span)
        } else if lookahead.peek(kw::on_panic) {
            (When::Panic, input.parse::<kw::on_panic>()?.span)
        } else if lookahead.peek(kw::on_failure) {
            (When::Failure, input.parse::<kw::on_failure>()?.span)
        } else {
            return Err(lookahead.error());
        };
        Ok(Condition { when, span })
    }
}

/// `#[cleanup(...)]`: at most one condition, at most one `stack = expr`, and
/// `move`, in any order, comma-separated.
#[derive(Default)]
pub(crate) struct CleanupArgs {
    pub(crate) condition: Option<Condition>,
    pub(crate) stack: Option<Expr>,
    /// The cleanup closure takes what it uses by value (a stack that
    /// outlives the locals, another thread).
    pub(crate) capture: Option<Token![move]>,
    /// Not written by users: `@scope,` first, added by `#[exitstack::scope]`
    /// to the `#[cleanup]` fns in its body, naming its `Scope` local.
    pub(crate) scope: Option<Ident>,
}

impl Parse for CleanupArgs {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let mut args = CleanupArgs::default();
        let mut errors = Errors::default();
        if input.peek(Token![@]) {
            input.parse::<Token![@]>()?;
            args.scope = Some(input.parse()?);
            if !input.is_empty() {
                input.parse::<Token![,]>()?;
            }
        }
        while !input.is_empty() {
            let lookahead = input.lookahead1();
            if lookahead.peek(kw::stack) {
                let keyword: kw::stack = input.parse()?;
                input.parse::<Token![=]>()?;
                let stack: Expr = input.parse()?;
                if args.stack.is_some() {
                    errors.push(syn::Error::new(
                        keyword.span,
                        "duplicate `stack` argument: a cleanup registers on one stack",
                    ));
                }
                args.stack = Some(stack);
            } else if lookahead.peek(Token![move]) {
                let capture: Token![move] = input.parse()?;
                if args.capture.is_some() {
                    errors.push(syn::Error::new(capture.span, "duplicate `move` argument"));
                }
                args.capture = Some(capture);
            } else if Condition::peek(&lookahead) {
                let condition: Condition = input.parse()?;
                if let Some(first) = args.condition {
                    errors.push(syn::Error::new(
                        condition.span,
                        format!(
                            "a cleanup takes one condition, and `{}` is already given: \
                             for an error or a panic, write `on_failure`",
                            first.when.keyword(),
                        ),
                    ));
                }
                args.condition = Some(condition);
            } else {
                return Err(lookahead.error());
            }
            if input.is_empty() {
                break;
            }
            input.parse::<Token![,]>()?;
        }
        errors.finish(args)
    }
}

/// The tokens of a `defer!(...)` or `cleanup!(...)`: an optional
/// `condition:` and the body, kept as tokens.
pub(crate) struct MacroBody {
    pub(crate) condition: Option<Condition>,
    pub(crate) body: TokenStream,
}

impl Parse for MacroBody {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        // `ident :` cannot start a statement, so it is always a condition;
        // `ident ::` is a path.
        let condition = if input.peek(Ident) && input.peek2(Token![:]) && !input.peek2(Token![::]) {
            let condition: Condition = input.parse()?;
            input.parse::<Token![:]>()?;
            Some(condition)
        } else {
            None
        };
        Ok(MacroBody {
            condition,
            body: input.parse()?,
        })
    }
}
