//! Parsing of what the macros take besides the code: the condition a cleanup
//! runs on, and the `#[cleanup(...)]` arguments.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::parse::{Parse, ParseStream};
use syn::{Expr, Ident, Token};

use crate::error::Errors;

mod kw {
    syn::custom_keyword!(stack);
    syn::custom_keyword!(spawn);
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

/// Every condition: its keyword, the `exitstack::When` variant it is, and
/// whether it needs to see an `Err` return (which only an
/// `#[exitstack::scope]` function, or an explicit stack, observes). A new
/// condition is one more row.
const WHENS: [(When, &str, &str, bool); 5] = [
    (When::Always, "always", "Always", false),
    (When::Success, "on_success", "Success", false),
    (When::Error, "on_error", "Error", true),
    (When::Panic, "on_panic", "Panic", false),
    (When::Failure, "on_failure", "Failure", true),
];

impl When {
    fn row(self) -> &'static (When, &'static str, &'static str, bool) {
        WHENS
            .iter()
            .find(|row| row.0 == self)
            .expect("every condition has a row")
    }

    /// Whether a cleanup on this condition needs to see an `Err` return.
    pub(crate) fn needs_scope(self) -> bool {
        self.row().3
    }

    pub(crate) fn keyword(self) -> &'static str {
        self.row().1
    }

    /// The `exitstack::When` value.
    pub(crate) fn to_path(self, krate: &TokenStream) -> TokenStream {
        let variant = Ident::new(self.row().2, Span::mixed_site());
        quote_spanned!(Span::mixed_site()=> #krate::__private::When::#variant)
    }

    fn of_keyword(keyword: &Ident) -> Option<Self> {
        WHENS.iter().find(|row| keyword == row.1).map(|row| row.0)
    }

    /// "`always`, `on_success`, ... or `on_failure`".
    fn expected() -> String {
        let names: Vec<_> = WHENS.iter().map(|row| format!("`{}`", row.1)).collect();
        let (last, rest) = names.split_last().expect("there are conditions");
        format!("{} or {last}", rest.join(", "))
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

    fn peek(input: ParseStream<'_>) -> bool {
        input
            .fork()
            .parse::<Ident>()
            .is_ok_and(|ident| When::of_keyword(&ident).is_some())
    }
}

impl Parse for Condition {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let keyword: Ident = input.parse().map_err(|error| {
            syn::Error::new(error.span(), format!("expected {}", When::expected()))
        })?;
        match When::of_keyword(&keyword) {
            Some(when) => Ok(Condition {
                when,
                span: keyword.span(),
            }),
            None => Err(syn::Error::new(
                keyword.span(),
                format!(
                    "unknown condition `{keyword}`: expected {}",
                    When::expected()
                ),
            )),
        }
    }
}

/// `crate = path`: where the `exitstack` crate is, for a renamed dependency
/// (`es = { package = "exitstack", .. }` and `crate = es`), as serde and
/// tokio take it. A string (`crate = "es"`) is accepted too.
pub(crate) fn parse_crate(input: ParseStream<'_>) -> syn::Result<syn::Path> {
    input.parse::<Token![crate]>()?;
    input.parse::<Token![=]>()?;
    if input.peek(syn::LitStr) {
        input.parse::<syn::LitStr>()?.parse()
    } else {
        syn::Path::parse_mod_style(input)
    }
}

/// The path expansions name the runtime crate by: `::exitstack` unless
/// `crate = path` says otherwise.
pub(crate) fn crate_path(path: Option<&syn::Path>) -> TokenStream {
    if let Some(path) = path {
        quote!(#path)
    } else {
        quote_spanned!(Span::mixed_site()=> ::exitstack)
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
    /// `crate = path`, for a renamed dependency.
    pub(crate) krate: Option<syn::Path>,
}

impl Parse for CleanupArgs {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let mut args = CleanupArgs::default();
        let mut errors = Errors::default();
        while !input.is_empty() {
            if input.peek(Token![crate]) {
                let span = input.span();
                let path = parse_crate(input)?;
                if args.krate.is_some() {
                    errors.push(syn::Error::new(span, "duplicate `crate` argument"));
                }
                args.krate = Some(path);
            } else if input.peek(kw::stack) {
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
            } else if input.peek(Token![move]) {
                let capture: Token![move] = input.parse()?;
                if args.capture.is_some() {
                    errors.push(syn::Error::new(capture.span, "duplicate `move` argument"));
                }
                args.capture = Some(capture);
            } else if Condition::peek(input) {
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
                return Err(syn::Error::new(
                    input.span(),
                    format!(
                        "expected a condition ({}), `stack = ...`, `move` or `crate = ...`",
                        When::expected()
                    ),
                ));
            }
            if input.is_empty() {
                break;
            }
            input.parse::<Token![,]>()?;
        }
        errors.finish(args)
    }
}

/// The tokens of a `defer!(...)` or `cleanup!(...)`: `try` for a fallible
/// cleanup, an optional `condition:` and the body, kept as tokens.
pub(crate) struct MacroBody {
    /// The `try` of `try:` or `try condition:`.
    pub(crate) fallible: Option<Span>,
    pub(crate) condition: Option<Condition>,
    pub(crate) body: TokenStream,
}

impl Parse for MacroBody {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        // `try :` and `try ident :` cannot start a statement either (a
        // `try` block is `try {`).
        let fallible = if input.peek(Token![try])
            && ((input.peek2(Token![:]) && !input.peek2(Token![::]))
                || (input.peek2(Ident) && input.peek3(Token![:]) && !input.peek3(Token![::])))
        {
            let keyword: Token![try] = input.parse()?;
            if input.peek(Token![:]) {
                input.parse::<Token![:]>()?;
                return Ok(MacroBody {
                    fallible: Some(keyword.span),
                    condition: None,
                    body: input.parse()?,
                });
            }
            Some(keyword.span)
        } else {
            None
        };
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
            fallible,
            condition,
            body: input.parse()?,
        })
    }
}

/// `#[exitstack::scope]`'s arguments: `?Send` and `spawn = expr` (on an
/// `async fn`) and `crate = path`, comma-separated.
#[derive(Default)]
pub(crate) struct ScopeArgs {
    pub(crate) not_send: Option<Token![?]>,
    /// `spawn = expr`: the keyword (for errors) and the spawner.
    pub(crate) spawn: Option<(Span, Expr)>,
    pub(crate) krate: Option<syn::Path>,
}

impl Parse for ScopeArgs {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let mut args = ScopeArgs::default();
        while !input.is_empty() {
            if input.peek(Token![?]) {
                let question: Token![?] = input.parse()?;
                let send: Ident = input
                    .parse()
                    .map_err(|error| syn::Error::new(error.span(), "expected `?Send`"))?;
                if send != "Send" {
                    return Err(syn::Error::new(
                        send.span(),
                        "expected `?Send`: `#[exitstack::scope(?Send)]` is for an `async fn` \
                         whose async cleanups are not `Send`",
                    ));
                }
                args.not_send = Some(question);
            } else if input.peek(Token![crate]) {
                args.krate = Some(parse_crate(input)?);
            } else if input.peek(kw::spawn) {
                let keyword: kw::spawn = input.parse()?;
                input.parse::<Token![=]>()?;
                let spawner: Expr = input.parse()?;
                args.spawn = Some((keyword.span, spawner));
            } else {
                return Err(syn::Error::new(
                    input.span(),
                    "`#[exitstack::scope]` takes no arguments, except `?Send` on an `async fn` \
                     whose async cleanups are not `Send`, `spawn = spawner` on an `async fn` \
                     whose async cleanups must run even if it is cancelled, and `crate = path` \
                     for a renamed dependency",
                ));
            }
            if !input.is_empty() {
                input.parse::<Token![,]>()?;
            }
        }
        Ok(args)
    }
}
