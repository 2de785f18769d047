//! The body rewrite of `#[exitstack::scope]`: expands the cleanups written
//! in the function's body, tied to its `ErrorWatch`, and makes every value the
//! function returns an observed one (see `observe`).
//!
//! It runs before names are resolved, so it recognises macros by name:
//! `defer!`, `cleanup!`, `pop_all!` (bare, or qualified by `exitstack::` or
//! by the path of `crate = path` for the exported ones) and the
//! `#[cleanup]` attribute on `fn` items and `let` statements, each expanded
//! in place through `expand::Cleanup`. It also sees into the macros whose
//! `return`s and `?`s are the function's:
//!
//! * the standard macros whose arguments are expressions (`format!`,
//!   `println!`, `vec!`, `assert!`, `write!`, ...): their arguments are
//!   rewritten like any other code;
//! * anyhow's and eyre's `bail!` and `ensure!`: run where their `return`
//!   is caught, and what they return is observed.
//!
//! Any other macro is left as written: if it hides a `return` or `?`, the
//! body does not type-check (see `observe`).
//!
//! An async cleanup (`defer!(async { ... })`, `cleanup!(async { ... })`,
//! after an optional condition) registers its future on the function's
//! implicit asynchronous stack, which `scope` adds to an `async fn` whose
//! body has one; anywhere else it is an error.
//!
//! Closures, async, const and try blocks are scopes of their own: their
//! `return` and `?` are not the function's, so they are not observed, and
//! cleanups written in them are expanded as outside any scope — the forms
//! that need the function's scope are errors there. Nested items are left
//! alone: they keep their own scopes, and their own attributes.

use proc_macro2::{Delimiter, Group, Ident, Span, TokenStream, TokenTree};
use quote::{ToTokens, quote, quote_spanned};
use syn::parse::{ParseStream, Parser};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::visit_mut::{self, VisitMut};
use syn::{Attribute, Block, Expr, ExprAsync, Item, ItemFn, Local, Macro, Stmt, StmtMacro, Token};

use crate::args::{Condition, MacroBody, When};
use crate::cleanup;
use crate::error::{Errors, format_err};
use crate::expand::{self, Callback, Cleanup};
use crate::observe::Returns;
use crate::site::{self, Locals, Nested, Site};

/// The macros the rewrite recognises.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Known {
    Defer,
    Cleanup,
    PopAll,
    /// `bail!(...)`: `return Err(...)` (anyhow, eyre).
    Bail,
    /// `ensure!(cond, ...)`: `if !cond { return Err(...) }` (anyhow, eyre).
    Ensure,
    /// A standard macro whose arguments are expressions.
    Std,
}

/// The standard macros whose arguments are comma-separated expressions
/// (`vec!` also takes `elem; n`), so a `?` or `return` in them is the
/// function's, rewritten like any other.
const STD_MACROS: &[&str] = &[
    "assert",
    "assert_eq",
    "assert_ne",
    "dbg",
    "debug_assert",
    "debug_assert_eq",
    "debug_assert_ne",
    "eprint",
    "eprintln",
    "format",
    "format_args",
    "matches",
    "panic",
    "print",
    "println",
    "todo",
    "unimplemented",
    "unreachable",
    "vec",
    "write",
    "writeln",
];

impl Known {
    fn of(mac: &Macro, krate: Option<&syn::Path>) -> Option<Self> {
        let path = &mac.path;
        if site::names(path, "defer", krate) {
            return Some(Known::Defer);
        }
        if site::names(path, "cleanup", krate) {
            return Some(Known::Cleanup);
        }
        if path.is_ident("pop_all") {
            return Some(Known::PopAll);
        }
        let last = &path.segments.last()?.ident;
        let prefix: Vec<_> = path
            .segments
            .iter()
            .rev()
            .skip(1)
            .map(|segment| segment.ident.to_string())
            .collect();
        let error_crate = prefix.is_empty()
            || prefix
                .iter()
                .any(|name| name == "anyhow" || name == "eyre" || name == "color_eyre");
        if error_crate && last == "bail" {
            return Some(Known::Bail);
        }
        if error_crate && last == "ensure" {
            return Some(Known::Ensure);
        }
        let std = prefix.is_empty()
            || matches!(prefix.as_slice(), [name] if name == "std" || name == "core" || name == "alloc");
        (std && STD_MACROS.iter().any(|name| last == name)).then_some(Known::Std)
    }
}

pub(crate) struct Rewriter<'a> {
    locals: &'a Locals,
    returns: &'a Returns<'a>,
    /// The path of `crate = path`, under which `defer!` and `cleanup` are
    /// recognised too.
    krate: Option<&'a syn::Path>,
    /// Whether the body is an `async` block: a `bail!` or `ensure!` whose
    /// arguments `.await` is run in one.
    is_async: bool,
    /// Whether the function's body calls `pop_all!()`. Without it, a
    /// cleanup that runs whatever the outcome and does not take the
    /// `Outcome` needs nothing from the scope: it expands to the plain
    /// `Defer`, exactly what a hand-written `Drop` guard costs.
    disarmable: bool,
    /// Inside a closure (or the like) of the function, not its own body.
    nested: Option<Nested>,
    errors: &'a mut Errors,
}

impl<'a> Rewriter<'a> {
    pub(crate) fn new(
        returns: &'a Returns<'a>,
        krate: Option<&'a syn::Path>,
        is_async: bool,
        block: &Block,
        errors: &'a mut Errors,
    ) -> Self {
        Rewriter {
            locals: returns.locals,
            returns,
            krate,
            is_async,
            disarmable: calls_pop_all(block.to_token_stream()),
            nested: None,
            errors,
        }
    }

    /// Whether a cleanup in the function's body must be tied to its scope:
    /// to see an `Err`, to hand over the `Outcome`, or to be disarmed by
    /// `pop_all!()`.
    fn needs_scope(&self, when: When, takes_outcome: bool) -> bool {
        when != When::Always || takes_outcome || self.disarmable
    }

    fn site(&self) -> Site<'a> {
        match self.nested {
            None => Site::Scope(self.locals),
            Some(nested) => Site::Nested(nested),
        }
    }

    /// A fallible async cleanup in a function with a spawner: its error
    /// becomes the function's `Err`, which a cancelled function (whose
    /// cleanups the spawner runs) never returns.
    fn fallible_handed_off(&self, form: &str, span: Span) -> Option<syn::Error> {
        self.locals.spawning.then(|| {
            syn::Error::new(
                span,
                format!(
                    "`{form}` cannot go with `spawn = ..`: its error would become the function's \
                     `Err`, and a cancelled function, whose async cleanups the spawner runs, \
                     returns nothing; handle the error in the cleanup (`defer!(async move {{ if \
                     let Err(error) = ... {{ ... }} }})`), or register it on a stack that reports \
                     it"
                ),
            )
        })
    }

    fn nested(&mut self, nested: Nested, f: impl FnOnce(&mut Self)) {
        let outer = self.nested.replace(nested);
        f(self);
        self.nested = outer;
    }

    fn nested_expr(&mut self, nested: Nested, expr: &mut Expr) {
        self.nested(nested, |this| visit_mut::visit_expr_mut(this, expr));
    }

    /// A synchronous cleanup of the implicit stack, from any form: tied to
    /// the function's scope when it needs it, an error where it needs a
    /// scope it cannot have.
    fn guard(&mut self, cleanup: &Cleanup, form: &str) -> TokenStream {
        let when = cleanup.condition.when;
        if sees_errors(when, cleanup.takes_outcome()) && self.nested.is_some() {
            let form = format!(
                "{form}({}{}: ...)",
                try_prefix(cleanup.fallible),
                when.keyword()
            );
            self.errors
                .push(self.site().needs_scope_error(cleanup.condition, &form));
        }
        let mut locals = match self.nested {
            None if self.needs_scope(when, cleanup.takes_outcome())
                || cleanup.fallible.is_some() =>
            {
                Some(self.locals)
            }
            _ => None,
        };
        let refused = cleanup
            .fallible
            .and_then(|at| self.fallible_error(form, cleanup.condition, at));
        if let Some(error) = refused {
            self.errors.push(error);
            locals = None;
        }
        cleanup.guard(&self.locals.krate, locals)
    }

    /// Why a fallible cleanup (`try` at `at`) of `form` (`defer!`,
    /// `cleanup!`) cannot be one here, if it cannot.
    fn fallible_error(&self, form: &str, condition: Condition, at: Span) -> Option<syn::Error> {
        let keyword = match condition.when {
            When::Always => String::new(),
            when => format!(" {}", when.keyword()),
        };
        let form = format!("{form}(try{keyword}: ...)");
        site::fallible_error(&self.site(), &form, at)
            .or_else(|| site::fallible_on_panic(condition, &form))
    }

    /// `defer!(condition: body)`: `let __exitstack_guard = <guard>;`, or the
    /// registration of an async cleanup.
    fn defer(&mut self, attrs: &[Attribute], mac: &Macro) -> Stmt {
        let used = mark_used(&mac.path);
        let Some(MacroBody {
            fallible,
            condition,
            body,
        }) = self.errors.ok(mac.parse_body())
        else {
            return empty_stmt();
        };
        let condition = condition.unwrap_or_else(|| Condition::always(mac.path.span()));
        let span = Span::mixed_site().located_at(mac.path.span());
        let tokens = if starts_with_async(&body) {
            match self.async_cleanup(fallible, condition, &body, "defer!") {
                Ok((stack, future, at)) => {
                    let registered = expand::register_async(
                        condition,
                        self.locals,
                        stack,
                        &future,
                        false,
                        at,
                        fallible,
                    );
                    quote_spanned!(span=> #(#attrs)* #registered;)
                }
                Err(future) => quote_spanned!(span=> #(#attrs)* let _ = #future;),
            }
        } else if let (Some((value, body)), None) = (value_form(&body), fallible) {
            let guard = self.value_guard(condition, &value, body);
            quote_spanned!(span=> #(#attrs)* #guard)
        } else {
            if let (Some(at), Some((value, _))) = (fallible, value_form(&body)) {
                self.errors.push(syn::Error::new(
                    at,
                    format!(
                        "a fallible cleanup has no value form: write `defer!(try: ...)` with a \
                         body that uses `{value}`, or `defer!({value} => ...)` with a body that \
                         handles its error"
                    ),
                ));
                // Best effort: the value stays used.
                let span = Span::mixed_site().located_at(value.span());
                return Stmt::Item(Item::Verbatim(
                    quote_spanned!(span=> #used #(#attrs)* let _ = &#value;),
                ));
            }
            let cleanup = self.body_cleanup(fallible, condition, body, mac);
            let guard = self.guard(&cleanup, "defer!");
            let name = Ident::new("__exitstack_guard", span);
            quote_spanned!(span=> #(#attrs)* let #name = #guard;)
        };
        Stmt::Item(Item::Verbatim(quote!(#used #tokens)))
    }

    /// `defer!(condition: value => body)`: the local `value` moves into a
    /// value guard (`ScopeGuard`), rebound to the same name, so the body of
    /// the function keeps using it and the cleanup sees its final state. In
    /// the function's body, the guard is tied to its scope (it sees an
    /// `Err`, and `pop_all!()` disarms it); nested, it is a plain value guard
    /// (`exitstack::guard` and its `on_success` / `on_unwind` forms).
    fn value_guard(
        &mut self,
        condition: Condition,
        value: &Ident,
        body: TokenStream,
    ) -> TokenStream {
        let krate = self.locals.krate.clone();
        let span = Span::mixed_site().located_at(condition.span);
        let when = condition.when;
        if sees_errors(when, false) && self.nested.is_some() {
            let form = format!("defer!({}: {value} => ...)", when.keyword());
            self.errors
                .push(self.site().needs_scope_error(condition, &form));
        }
        let body = self.cleanup_body(body);
        let closure = quote_spanned! {span=>
            |#[allow(unused_mut, reason = "the cleanup may only read the value")] mut #value| { #body }
        };
        let guard = if self.nested.is_none() {
            let check = expand::can_fail(condition, &krate, self.locals);
            let scope = &self.locals.scope;
            let when = when.to_path(&krate);
            quote_spanned! {span=> {
                #check
                #krate::__private::ScopeGuard::watching(&#scope, #when, #value, #closure)
            }}
        } else {
            let constructor = match when {
                When::Success => quote_spanned!(span=> guard_on_success),
                When::Panic => quote_spanned!(span=> guard_on_unwind),
                _ => quote_spanned!(span=> guard),
            };
            quote_spanned!(span=> #krate::__private::#constructor(#value, #closure))
        };
        quote_spanned! {span=>
            #[allow(unused_mut, reason = "the body may only read the value")]
            let mut #value = #guard;
        }
    }

    /// The cleanup of a `defer!` or `cleanup!` with a synchronous body.
    fn body_cleanup(
        &mut self,
        fallible: Option<Span>,
        condition: Condition,
        body: TokenStream,
        mac: &Macro,
    ) -> Cleanup {
        let mut body = Group::new(Delimiter::Brace, self.cleanup_body(body));
        body.set_span(mac.delimiter.span().join());
        Cleanup {
            condition,
            callback: Callback::Body {
                capture: None,
                param: None,
                output: None,
                body: body.into_token_stream(),
                span: mac.path.span(),
            },
            fallible,
        }
    }

    /// `cleanup!(...)`: the guard (or the handle of an async cleanup), as an
    /// expression.
    fn cleanup(&mut self, mac: &Macro) -> Expr {
        let krate = &self.locals.krate;
        let Some(MacroBody {
            fallible,
            condition,
            body,
        }) = self.errors.ok(mac.parse_body())
        else {
            // Best effort: a guard that does nothing, so `.cancel()` resolves.
            return Expr::Verbatim(quote!(#krate::__private::Defer::new(|| {})));
        };
        let condition = condition.unwrap_or_else(|| Condition::always(mac.path.span()));
        if starts_with_async(&body) {
            let span = Span::mixed_site().located_at(condition.span);
            return Expr::Verbatim(
                match self.async_cleanup(fallible, condition, &body, "cleanup!") {
                    Ok((stack, future, at)) => expand::register_async(
                        condition,
                        self.locals,
                        stack,
                        &future,
                        true,
                        at,
                        fallible,
                    ),
                    // Best effort: something with `.cancel()`.
                    Err(future) => quote_spanned! {span=> {
                        let _ = #future;
                        #krate::__private::Defer::new(|| {})
                    }},
                },
            );
        }
        let cleanup = self.body_cleanup(fallible, condition, body, mac);
        Expr::Verbatim(self.guard(&cleanup, "cleanup!"))
    }

    /// `pop_all!()`: disarms every cleanup of the function made so far.
    fn pop_all(&mut self, mac: &Macro) -> Expr {
        if !mac.tokens.is_empty() {
            self.errors.push(format_err!(
                mac.tokens,
                "`pop_all!()` takes no arguments: it cancels every cleanup registered so far \
                 in the function"
            ));
        }
        if let Some(nested) = self.nested {
            self.errors.push(format_err!(
                mac,
                "`pop_all!()` cannot cancel the function's cleanups from inside {nested}, \
                 which is a scope of its own: call it in the function body"
            ));
            return Expr::Verbatim(quote!(()));
        }
        let scope = &self.locals.scope;
        let span = Span::mixed_site().located_at(mac.path.span());
        Expr::Verbatim(if let Some(stack) = &self.locals.async_stack {
            quote_spanned!(span=> #stack.cancel_all(&#scope))
        } else {
            quote_spanned!(span=> #scope.cancel_all())
        })
    }

    /// `bail!(...)` of anyhow or eyre, in the function's body: the macro
    /// runs where its `return` is caught, and what it returns is returned,
    /// observed.
    ///
    /// ```text
    /// return <observed>(Err(match catch(|| -> Result<Infallible, _> { bail!(...) }) {
    ///     Err(error) => error,
    ///     Ok(never) => match never {},
    /// }))
    /// ```
    fn bail(&mut self, mac: &Macro) -> Expr {
        let span = Span::mixed_site().located_at(mac.span());
        let error = Ident::new("__exitstack_error", span);
        let never = Ident::new("__exitstack_never", span);
        let caught = self.catch(
            mac,
            &quote_spanned!(span=> ::core::result::Result<::core::convert::Infallible, _>),
            &quote!(),
        );
        let value = Expr::Verbatim(quote_spanned! {span=>
            ::core::result::Result::Err(match #caught {
                ::core::result::Result::Err(#error) => #error,
                ::core::result::Result::Ok(#never) => match #never {},
            })
        });
        Expr::Return(syn::ExprReturn {
            attrs: Vec::new(),
            return_token: Token![return](span),
            expr: Some(Box::new(self.returns.observed(&value))),
        })
    }

    /// `ensure!(cond, ...)` of anyhow or eyre, in the function's body.
    ///
    /// ```text
    /// if let Err(error) = catch(|| -> Result<(), _> { ensure!(...); Ok(()) }) {
    ///     return <observed>(Err(error));
    /// }
    /// ```
    fn ensure(&mut self, mac: &Macro) -> Expr {
        let span = Span::mixed_site().located_at(mac.span());
        let error = Ident::new("__exitstack_error", span);
        let caught = self.catch(
            mac,
            &quote_spanned!(span=> ::core::result::Result<(), _>),
            &quote_spanned!(span=> ; ::core::result::Result::Ok(())),
        );
        let value = Expr::Verbatim(quote_spanned!(span=> ::core::result::Result::Err(#error)));
        let returned = self.returns.observed(&value);
        Expr::Verbatim(quote_spanned! {span=>
            if let ::core::result::Result::Err(#error) = #caught {
                return #returned;
            }
        })
    }

    /// Runs `mac` (then `then`) in a closure returning `ty`, or, if its
    /// arguments `.await`, in an `async` block awaited at once.
    fn catch(&mut self, mac: &Macro, ty: &TokenStream, then: &TokenStream) -> TokenStream {
        let span = Span::mixed_site().located_at(mac.span());
        if let Some(keyword) = control_flow(mac.tokens.clone()) {
            // It would leave the closure the macro runs in, not the
            // function: a `return Ok(..)` there would be swallowed.
            let name = mac
                .path
                .segments
                .last()
                .map(|s| s.ident.to_string())
                .unwrap_or_default();
            self.errors.push(syn::Error::new(
                keyword.span(),
                format!(
                    "`{keyword}` inside the arguments of `{name}!` cannot be observed by \
                     `#[exitstack::scope]`, which runs the macro where its `return` is caught: \
                     compute the value before the `{name}!` call"
                ),
            ));
        }
        let krate = &self.locals.krate;
        if self.is_async && mentions_await(mac.tokens.clone()) {
            quote_spanned! {span=>
                async {
                    if false {
                        return #krate::__private::output::<#ty>(&#krate::__private::Ret::new());
                    }
                    #mac #then
                }.await
            }
        } else {
            quote_spanned!(span=> #krate::__private::catch(|| -> #ty { #mac #then }))
        }
    }

    /// A standard macro with expression arguments: the arguments are
    /// rewritten; as written if they do not parse as expressions.
    fn std_macro(&mut self, mac: &mut Macro) {
        let parsed = Punctuated::<Expr, Token![,]>::parse_terminated
            .parse2(mac.tokens.clone())
            .map(|args| (args, None))
            .or_else(|_| {
                // `vec![elem; n]`.
                (|input: ParseStream<'_>| {
                    let elem: Expr = input.parse()?;
                    let semi: Token![;] = input.parse()?;
                    let n: Expr = input.parse()?;
                    Ok((Punctuated::from_iter([elem, n]), Some(semi)))
                })
                .parse2(mac.tokens.clone())
            });
        let Ok((mut args, semi)) = parsed else {
            return;
        };
        for arg in &mut args {
            self.visit_expr_mut(arg);
        }
        mac.tokens = match semi {
            Some(semi) => {
                let (elem, n) = (&args[0], &args[1]);
                quote!(#elem #semi #n)
            }
            None => args.into_token_stream(),
        };
    }

    /// The future of an async cleanup (`body` is `async { ... }` or
    /// `async move { ... }`), its code rewritten as a scope of its own, the
    /// function's asynchronous stack to register it on, and where its
    /// `async` is. `Err` with the
    /// future alone (or nothing that parses) where it cannot be awaited,
    /// after reporting why.
    fn async_cleanup(
        &mut self,
        fallible: Option<Span>,
        condition: Condition,
        body: &TokenStream,
        name: &str,
    ) -> Result<(&'a Ident, TokenStream, Span), TokenStream> {
        let keyword = match (fallible, condition.when) {
            (None, When::Always) => String::new(),
            (Some(_), When::Always) => "try: ".to_owned(),
            (fallible, when) => format!("{}{}: ", try_prefix(fallible), when.keyword()),
        };
        let form = format!("{name}({keyword}async ...)");
        let not_a_block = |tokens: &dyn ToTokens| {
            syn::Error::new_spanned(
                tokens,
                format!(
                    "`{form}` takes one `async {{ ... }}` or `async move {{ ... }}` block, \
                     awaited when the function's body ends"
                ),
            )
        };
        let parsed = (|input: ParseStream<'_>| {
            let future: ExprAsync = input.parse().map_err(|_| not_a_block(body))?;
            input.parse::<Option<Token![;]>>()?;
            let rest: TokenStream = input.parse()?;
            if !rest.is_empty() {
                return Err(not_a_block(&rest));
            }
            Ok(future)
        })
        .parse2(body.clone());
        let mut future = match parsed {
            Ok(future) => future,
            Err(error) => {
                self.errors.push(error);
                return Err(quote!(async {}));
            }
        };
        self.nested(Nested::Cleanup, |this| {
            this.visit_block_mut(&mut future.block);
        });
        if let Some(at) = fallible {
            let error = match self.nested {
                Some(_) => None,
                None => site::fallible_error(&self.site(), &form, at)
                    .or_else(|| site::fallible_on_panic(condition, &form))
                    .or_else(|| self.fallible_handed_off(&form, at)),
            };
            if let Some(error) = error {
                self.errors.push(error);
                return Err(future.into_token_stream());
            }
        }
        let message = match (self.nested, self.locals.async_stack.as_ref()) {
            (None, Some(stack)) => {
                let at = future.async_token.span;
                return Ok((stack, future.into_token_stream(), at));
            }
            (Some(nested), _) => format!(
                "`{form}` cannot be awaited from inside {nested}, which is a scope of its own: \
                 write it in the body of the `#[exitstack::scope] async fn`"
            ),
            (None, None) => format!(
                "`{form}` needs an `async fn`: `#[exitstack::scope]` awaits async cleanups when \
                 the function's body ends, which only an `async fn` can do; make the function \
                 `async`, or write a synchronous cleanup"
            ),
        };
        self.errors
            .push(syn::Error::new(future.async_token.span, message));
        Err(future.into_token_stream())
    }

    /// The statements of a cleanup's body, rewritten as a scope of their
    /// own; as written if they do not parse (the compiler reports why).
    fn cleanup_body(&mut self, body: TokenStream) -> TokenStream {
        match Block::parse_within.parse2(body.clone()) {
            Ok(mut stmts) => {
                self.nested(Nested::Cleanup, |this| {
                    for stmt in &mut stmts {
                        this.visit_stmt_mut(stmt);
                    }
                });
                quote!(#(#stmts)*)
            }
            Err(_) => body,
        }
    }

    /// `#[cleanup(args)] fn`, expanded in place.
    fn cleanup_fn(&mut self, mut func: ItemFn) -> Stmt {
        let block = &mut func.block;
        self.nested(Nested::Cleanup, |this| {
            this.visit_block_mut(block);
        });
        let index = func
            .attrs
            .iter()
            .position(|attr| cleanup::is_cleanup_attr(attr, self.krate));
        let used = index.and_then(|index| mark_used(func.attrs[index].path()));
        let Some(args) = cleanup::take_cleanup_attr(&mut func.attrs, self.krate, self.errors)
        else {
            return Stmt::Item(Item::Fn(func));
        };
        // A `?` without a return type is reported as in a scope.
        let fallible = !matches!(func.sig.output, syn::ReturnType::Default)
            || cleanup::top_level_question(&func.block).is_some();
        let site = self.cleanup_site(&args, !func.sig.inputs.is_empty(), fallible);
        let mut tokens = used.unwrap_or_default();
        tokens.extend(cleanup::expand_fn(args, func, &site, self.errors));
        Stmt::Item(Item::Verbatim(tokens))
    }

    /// `#[cleanup(args)] let name = expr;`, expanded in place.
    fn cleanup_let(&mut self, mut local: Local) -> Stmt {
        let index = local
            .attrs
            .iter()
            .position(|attr| cleanup::is_cleanup_attr(attr, self.krate));
        let used = index.and_then(|index| mark_used(local.attrs[index].path()));
        let args = cleanup::take_cleanup_attr(&mut local.attrs, self.krate, self.errors)
            .unwrap_or_default();
        if let Some(init) = &mut local.init {
            self.visit_expr_mut(&mut init.expr);
        }
        let takes_outcome = matches!(
            local.init.as_ref().map(|init| &*init.expr),
            Some(Expr::Closure(closure)) if closure.inputs.len() == 1
        );
        let fallible = matches!(
            local.init.as_ref().map(|init| &*init.expr),
            Some(Expr::Closure(closure)) if !matches!(closure.output, syn::ReturnType::Default)
        );
        let site = self.cleanup_site(&args, takes_outcome, fallible);
        let mut tokens = used.unwrap_or_default();
        tokens.extend(cleanup::expand_let(args, local, &site, self.errors));
        Stmt::Item(Item::Verbatim(tokens))
    }

    /// Where a `#[cleanup]` expands: tied to the function's scope when it
    /// needs it, else as outside any scope (a plain guard).
    fn cleanup_site(
        &self,
        args: &crate::args::CleanupArgs,
        takes_outcome: bool,
        fallible: bool,
    ) -> Site<'a> {
        let when = args
            .condition
            .map_or(When::Always, |condition| condition.when);
        match self.nested {
            None if args.stack.is_none() && !fallible && !self.needs_scope(when, takes_outcome) => {
                Site::Standalone
            }
            _ => self.site(),
        }
    }
}

/// Where the rewrite consumes a macro or attribute named through an import
/// (`use exitstack::defer;`): a `use` of that name keeps the import used
/// (and requires it, as every other use does).
fn mark_used(path: &syn::Path) -> Option<TokenStream> {
    let name = path.get_ident()?;
    let span = Span::mixed_site().located_at(name.span());
    Some(quote_spanned! {span=>
        #[allow(unused_imports)]
        use #name as _;
    })
}

impl VisitMut for Rewriter<'_> {
    fn visit_stmt_mut(&mut self, stmt: &mut Stmt) {
        let known = match stmt {
            Stmt::Macro(mac) => Known::of(&mac.mac, self.krate),
            // `defer!(...)` without `;` at the end of a block.
            Stmt::Expr(Expr::Macro(mac), _) => {
                Known::of(&mac.mac, self.krate).filter(|known| *known == Known::Defer)
            }
            Stmt::Item(Item::Fn(func))
                if func
                    .attrs
                    .iter()
                    .any(|attr| cleanup::is_cleanup_attr(attr, self.krate)) =>
            {
                if let Stmt::Item(Item::Fn(func)) = take(stmt) {
                    *stmt = self.cleanup_fn(func);
                }
                return;
            }
            // Nested items keep their own scopes.
            Stmt::Item(_) => return,
            Stmt::Local(local)
                if local
                    .attrs
                    .iter()
                    .any(|attr| cleanup::is_cleanup_attr(attr, self.krate)) =>
            {
                if let Stmt::Local(local) = take(stmt) {
                    *stmt = self.cleanup_let(local);
                }
                return;
            }
            _ => None,
        };
        if !matches!(known, Some(Known::Defer | Known::Cleanup | Known::PopAll)) {
            // The others are expressions: as a statement, `m!(...);` is an
            // expression statement.
            if matches!(stmt, Stmt::Macro(_)) && known.is_some() {
                let Stmt::Macro(StmtMacro {
                    attrs,
                    mac,
                    semi_token,
                }) = take(stmt)
                else {
                    unreachable!("matched above")
                };
                let mut expr = Expr::Macro(syn::ExprMacro { attrs, mac });
                self.visit_expr_mut(&mut expr);
                let semi_token = semi_token.or_else(|| {
                    (!matches!(expr, Expr::Macro(_))).then(|| Token![;](Span::call_site()))
                });
                *stmt = Stmt::Expr(expr, semi_token);
                return;
            }
            visit_mut::visit_stmt_mut(self, stmt);
            return;
        }
        let (attrs, mac, semi_token) = match take(stmt) {
            Stmt::Macro(StmtMacro {
                attrs,
                mac,
                semi_token,
            }) => (attrs, mac, semi_token),
            Stmt::Expr(Expr::Macro(mac), semi_token) => (mac.attrs, mac.mac, semi_token),
            _ => unreachable!("matched above"),
        };
        *stmt = match known {
            Some(Known::Defer) => self.defer(&attrs, &mac),
            Some(Known::Cleanup) if semi_token.is_some() => {
                let is_async = mac
                    .parse_body::<MacroBody>()
                    .is_ok_and(|body| starts_with_async(&body.body));
                self.errors.push(if is_async {
                    format_err!(
                        mac,
                        "this drops the handle `cleanup!(async ...)` returns, which is only good \
                         for `.cancel()`: bind it (`let handle = cleanup!(async ...);`), or write \
                         `defer!(async ...)`"
                    )
                } else {
                    format_err!(
                        mac,
                        "this drops the guard `cleanup!` returns, which runs the cleanup at once: \
                         bind it (`let guard = cleanup!(...);`), or write `defer!(...)`"
                    )
                });
                let guard = self.cleanup(&mac);
                let name = Ident::new("__exitstack_guard", Span::mixed_site());
                Stmt::Item(Item::Verbatim(quote!(let #name = #guard;)))
            }
            Some(Known::Cleanup) => Stmt::Expr(self.cleanup(&mac), semi_token),
            _ => Stmt::Expr(self.pop_all(&mac), semi_token),
        };
    }

    fn visit_expr_mut(&mut self, expr: &mut Expr) {
        match expr {
            Expr::Closure(_) => self.nested_expr(Nested::Closure, expr),
            Expr::Async(_) => self.nested_expr(Nested::AsyncBlock, expr),
            Expr::Const(_) => self.nested_expr(Nested::ConstBlock, expr),
            Expr::TryBlock(_) => self.nested_expr(Nested::TryBlock, expr),
            Expr::Return(ret) => {
                visit_mut::visit_expr_return_mut(self, ret);
                if self.nested.is_none() {
                    let mut value = ret.expr.take().map_or_else(
                        || {
                            let span = Span::mixed_site().located_at(ret.return_token.span);
                            Expr::Verbatim(quote_spanned!(span=> ()))
                        },
                        |value| *value,
                    );
                    // At the places the value comes from (the tail of a
                    // block operand), before that block's cleanups run.
                    self.returns.tail_expr(&mut value);
                    ret.expr = Some(Box::new(value));
                }
            }
            Expr::Try(try_expr) => {
                visit_mut::visit_expr_try_mut(self, try_expr);
                if self.nested.is_none() {
                    let operand =
                        std::mem::replace(&mut *try_expr.expr, Expr::Verbatim(TokenStream::new()));
                    *expr = self
                        .returns
                        .try_expr(&operand, try_expr.question_token.span);
                }
            }
            Expr::Macro(mac) => match Known::of(&mac.mac, self.krate) {
                Some(Known::Cleanup) => *expr = self.cleanup(&mac.mac),
                Some(Known::PopAll) => *expr = self.pop_all(&mac.mac),
                Some(Known::Bail) if self.nested.is_none() => *expr = self.bail(&mac.mac),
                Some(Known::Ensure) if self.nested.is_none() => *expr = self.ensure(&mac.mac),
                Some(Known::Std) => self.std_macro(&mut mac.mac),
                // `defer!` is a statement; elsewhere it reports that itself.
                _ => {}
            },
            _ => visit_mut::visit_expr_mut(self, expr),
        }
    }

    fn visit_item_mut(&mut self, _: &mut Item) {}
}

fn take(stmt: &mut Stmt) -> Stmt {
    std::mem::replace(stmt, empty_stmt())
}

fn empty_stmt() -> Stmt {
    Stmt::Item(Item::Verbatim(TokenStream::new()))
}

/// Whether `tokens` contain `.await`.
fn mentions_await(tokens: TokenStream) -> bool {
    tokens.into_iter().any(|token| match token {
        TokenTree::Ident(ident) => ident == "await",
        TokenTree::Group(group) => mentions_await(group.stream()),
        TokenTree::Punct(_) | TokenTree::Literal(_) => false,
    })
}

/// Whether `tokens` call `pop_all!` anywhere (also in places where that is
/// an error, which only makes the answer safely larger).
fn calls_pop_all(tokens: TokenStream) -> bool {
    let mut previous_is_pop_all = false;
    for token in tokens {
        match token {
            TokenTree::Ident(ident) => previous_is_pop_all = ident == "pop_all",
            TokenTree::Punct(punct) if previous_is_pop_all && punct.as_char() == '!' => {
                return true;
            }
            TokenTree::Group(group) => {
                if calls_pop_all(group.stream()) {
                    return true;
                }
                previous_is_pop_all = false;
            }
            TokenTree::Punct(_) | TokenTree::Literal(_) => {
                previous_is_pop_all = false;
            }
        }
    }
    false
}

/// Whether the body of a `defer!` or `cleanup!` (after its condition) is
/// async: it starts with `async`.
fn starts_with_async(body: &TokenStream) -> bool {
    matches!(body.clone().into_iter().next(), Some(TokenTree::Ident(ident)) if ident == "async")
}

/// Whether `tokens` contain an async cleanup anywhere: `defer!` or
/// `cleanup!` whose body (after an optional `condition:`) starts with
/// `async`. Also where that is an error, which only makes the answer safely
/// larger.
pub(crate) fn has_async_cleanup(tokens: TokenStream) -> bool {
    let tokens: Vec<TokenTree> = tokens.into_iter().collect();
    tokens.iter().enumerate().any(|(index, token)| match token {
        TokenTree::Group(group) => {
            (is_cleanup_call(&tokens, index) && is_async_body(group.stream()))
                || has_async_cleanup(group.stream())
        }
        _ => false,
    })
}

/// Whether the group at `tokens[index]` is the body of a `defer!(..)` or
/// `cleanup!(..)` call.
fn is_cleanup_call(tokens: &[TokenTree], index: usize) -> bool {
    index >= 2
        && matches!(&tokens[index - 1], TokenTree::Punct(bang) if bang.as_char() == '!')
        && matches!(&tokens[index - 2], TokenTree::Ident(name) if name == "defer" || name == "cleanup")
}

/// Whether `tokens` may contain a cleanup whose behaviour depends on
/// whether the function returned an error: a `defer!` or `cleanup!` with a
/// condition other than `always:` or `on_panic:`, or a `#[cleanup]` with
/// such a condition or an `Outcome` parameter. Conservative: a larger
/// answer only asks for a `Fallible` bound that was not needed.
pub(crate) fn has_outcome_cleanup(tokens: TokenStream) -> bool {
    let tokens: Vec<TokenTree> = tokens.into_iter().collect();
    tokens.iter().enumerate().any(|(index, token)| match token {
        TokenTree::Group(group) => {
            let is_call = is_cleanup_call(&tokens, index);
            let is_cleanup_attr = index >= 1
                && group.delimiter() == Delimiter::Bracket
                && matches!(&tokens[index - 1], TokenTree::Punct(hash) if hash.as_char() == '#')
                && group
                    .stream()
                    .into_iter()
                    .any(|token| matches!(token, TokenTree::Ident(name) if name == "cleanup"))
                && cleanup_attr_depends_on_outcome(group.stream(), &tokens[index + 1..]);
            (is_call && depends_on_outcome(group.stream()))
                || is_cleanup_attr
                || has_outcome_cleanup(group.stream())
        }
        _ => false,
    })
}

/// The first `return`, `break` or `continue` in `tokens`, at any depth
/// (conservative: also one inside a closure there).
fn control_flow(tokens: TokenStream) -> Option<Ident> {
    tokens.into_iter().find_map(|token| match token {
        TokenTree::Ident(ident) if ident == "return" || ident == "break" || ident == "continue" => {
            Some(ident)
        }
        TokenTree::Group(group) => control_flow(group.stream()),
        _ => None,
    })
}

/// Whether a `#[cleanup(..)]` (its tokens `attr`, followed by `item`)
/// depends on errors: a condition other than `always` / `on_panic`, or a
/// callback that takes the `Outcome` (a `fn` with a parameter, a closure
/// literal with one). Conservative where the item is not one of those.
fn cleanup_attr_depends_on_outcome(attr: TokenStream, item: &[TokenTree]) -> bool {
    let mentions = |tokens: TokenStream, names: &[&str]| {
        tokens
            .into_iter()
            .any(|token| matches!(token, TokenTree::Ident(ident) if names.iter().any(|name| ident == name)))
    };
    let args = attr.into_iter().find_map(|token| match token {
        TokenTree::Group(group) if group.delimiter() == Delimiter::Parenthesis => {
            Some(group.stream())
        }
        _ => None,
    });
    if args.is_some_and(|args| mentions(args, &["on_success", "on_error", "on_failure"])) {
        return true;
    }
    let is = |token: Option<&TokenTree>, word: &str| matches!(token, Some(TokenTree::Ident(ident)) if ident == word);
    let is_bar = |token: Option<&TokenTree>| matches!(token, Some(TokenTree::Punct(punct)) if punct.as_char() == '|');
    // Other attributes may stand between: skip `#[..]`s.
    let mut rest = item;
    while let [TokenTree::Punct(hash), TokenTree::Group(_), tail @ ..] = rest {
        if hash.as_char() != '#' {
            break;
        }
        rest = tail;
    }
    if is(rest.first(), "fn") {
        // `fn name() { .. }`: no `Outcome` parameter.
        return !matches!(rest.get(2), Some(TokenTree::Group(params))
            if params.delimiter() == Delimiter::Parenthesis && params.stream().is_empty());
    }
    if is(rest.first(), "let") {
        // `let name = [move] || ..` or a non-closure: no parameter.
        let Some(eq) = rest
            .iter()
            .position(|t| matches!(t, TokenTree::Punct(p) if p.as_char() == '='))
        else {
            return true;
        };
        let mut value = &rest[eq + 1..];
        if is(value.first(), "move") {
            value = &value[1..];
        }
        return is_bar(value.first()) && !is_bar(value.get(1));
    }
    true
}

/// Whether a `defer!` / `cleanup!` body starts with a condition that needs
/// to know about errors.
fn depends_on_outcome(body: TokenStream) -> bool {
    let mut tokens = skip_try(body).into_iter();
    match (tokens.next(), tokens.next()) {
        (Some(TokenTree::Ident(condition)), Some(TokenTree::Punct(colon))) => {
            colon.as_char() == ':'
                && colon.spacing() == proc_macro2::Spacing::Alone
                && condition != "always"
                && condition != "on_panic"
        }
        _ => false,
    }
}

fn is_async_body(body: TokenStream) -> bool {
    let mut tokens = skip_try(body).into_iter();
    match (tokens.next(), tokens.next(), tokens.next()) {
        (Some(TokenTree::Ident(first)), ..) if first == "async" => true,
        (
            Some(TokenTree::Ident(_)),
            Some(TokenTree::Punct(colon)),
            Some(TokenTree::Ident(then)),
        ) => {
            colon.as_char() == ':'
                && colon.spacing() == proc_macro2::Spacing::Alone
                && then == "async"
        }
        _ => false,
    }
}

/// The body of a `defer!` / `cleanup!` after the `try` of a fallible one:
/// `try: body` is `body`, `try condition: body` is `condition: body`.
fn skip_try(body: TokenStream) -> TokenStream {
    let tokens: Vec<TokenTree> = body.into_iter().collect();
    match tokens.as_slice() {
        [
            TokenTree::Ident(keyword),
            TokenTree::Punct(colon),
            rest @ ..,
        ] if keyword == "try"
            && colon.as_char() == ':'
            && colon.spacing() == proc_macro2::Spacing::Alone =>
        {
            rest.iter().cloned().collect()
        }
        [TokenTree::Ident(keyword), rest @ ..] if keyword == "try" => {
            rest.iter().cloned().collect()
        }
        _ => tokens.into_iter().collect(),
    }
}

/// `value => body` in a `defer!`: the value form, whose `value` is a local
/// (an identifier followed by `=>`; nothing else can start a statement so).
fn value_form(body: &TokenStream) -> Option<(Ident, TokenStream)> {
    let parser = |input: ParseStream<'_>| {
        let value: Ident = input.parse()?;
        input.parse::<Token![=>]>()?;
        Ok((value, input.parse::<TokenStream>()?))
    };
    parser.parse2(body.clone()).ok()
}

/// `"try "` for a fallible cleanup, in the forms error messages write.
fn try_prefix(fallible: Option<Span>) -> &'static str {
    if fallible.is_some() { "try " } else { "" }
}

/// Whether a cleanup's behaviour depends on whether the function returned
/// an error: `on_error` and `on_failure` run on one, `on_success` must not,
/// and an exit callback sees it. Inside a closure or an async block of the
/// body (a scope of its own, which the attribute does not observe), such a
/// cleanup would be silently wrong, so it is refused there.
fn sees_errors(when: When, takes_outcome: bool) -> bool {
    when.needs_scope() || when == When::Success || takes_outcome
}
