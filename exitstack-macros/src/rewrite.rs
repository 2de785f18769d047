//! The body rewrite of `#[exitstack::scope]`: ties the function's cleanups to
//! its `Scope` and observes the values it returns.
//!
//! It runs before names are resolved, so it recognises macros by name:
//! `defer!`, `cleanup!`, `pop_all!` (bare, or `exitstack::`-qualified for the
//! exported ones) and the `#[cleanup]` attribute on `fn` items and `let`
//! statements. `defer!` and `#[cleanup] fn` keep the path the user wrote
//! (so the user's imports stay used) and are handed the scope through a
//! hidden argument; `cleanup!`, `pop_all!` and `#[cleanup] let`, which only
//! exist here, are expanded in place.
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
use syn::spanned::Spanned;
use syn::visit_mut::{self, VisitMut};
use syn::{
    Attribute, Block, Expr, ExprAsync, Item, ItemFn, Local, Macro, Meta, Stmt, StmtMacro, Token,
};

use crate::args::{CleanupArgs, Condition, MacroBody, When};
use crate::cleanup;
use crate::error::{Errors, format_err};
use crate::expand::{Callback, Cleanup};
use crate::observe;
use crate::site::{Nested, Site};

/// The macros the rewrite recognises.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Known {
    Defer,
    Cleanup,
    PopAll,
}

impl Known {
    fn of(mac: &Macro) -> Option<Self> {
        let path = &mac.path;
        let segments: Vec<_> = path.segments.iter().map(|segment| &segment.ident).collect();
        let (name, qualified) = match segments.as_slice() {
            [name] if path.leading_colon.is_none() => (*name, false),
            [krate, name] if *krate == "exitstack" => (*name, true),
            _ => return None,
        };
        if name == "defer" {
            Some(Known::Defer)
        } else if name == "cleanup" {
            Some(Known::Cleanup)
        } else if name == "pop_all" && !qualified {
            Some(Known::PopAll)
        } else {
            None
        }
    }
}

pub(crate) struct Rewriter<'a> {
    scope: &'a Ident,
    /// The function's implicit asynchronous stack (an `AsyncScope` local):
    /// in an `async fn` whose body has async cleanups. `None` in any other
    /// function, where an async cleanup is an error.
    async_stack: Option<&'a Ident>,
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
        scope: &'a Ident,
        async_stack: Option<&'a Ident>,
        block: &Block,
        errors: &'a mut Errors,
    ) -> Self {
        Rewriter {
            scope,
            async_stack,
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
            None => Site::Scope(self.scope),
            Some(nested) => Site::Nested(nested),
        }
    }

    fn nested(&mut self, nested: Nested, f: impl FnOnce(&mut Self)) {
        let outer = self.nested.replace(nested);
        f(self);
        self.nested = outer;
    }

    fn nested_expr(&mut self, nested: Nested, expr: &mut Expr) {
        self.nested(nested, |this| visit_mut::visit_expr_mut(this, expr));
    }

    /// `defer!(condition: body)` becomes
    /// `defer!(@scoped __exitstack_scope, When::Condition => body);` in the
    /// function's body, and stays as written (its body rewritten) in a
    /// nested scope.
    fn defer(&mut self, attrs: Vec<Attribute>, mut mac: Macro) -> Stmt {
        // `defer! { ... }` needs no `;`; `defer!(...)` does, also where the
        // user left it out at the end of a block.
        let braced = matches!(mac.delimiter, syn::MacroDelimiter::Brace(_));
        let semi_token = (!braced).then(|| Token![;](mac.delimiter.span().close()));
        let Some(MacroBody { condition, body }) = self.errors.ok(mac.parse_body()) else {
            return empty_stmt();
        };
        if starts_with_async(&body) {
            let condition = condition.unwrap_or_else(|| Condition::always(mac.path.span()));
            mac.tokens = match self.async_cleanup(condition, &body, "defer!") {
                Ok((stack, future)) => {
                    let when = condition.when.to_path();
                    quote!(@async #stack, #when => #future)
                }
                Err(future) => quote!(@async_inert #future),
            };
        } else {
            let condition_tokens = condition.map(|condition| {
                let keyword = Ident::new(condition.when.keyword(), condition.span);
                quote!(#keyword:)
            });
            let condition = condition.unwrap_or_else(|| Condition::always(mac.path.span()));
            let body = self.cleanup_body(body);
            mac.tokens = match self.nested {
                None if !self.needs_scope(condition.when, false) => quote!(#condition_tokens #body),
                None => {
                    let scope = self.scope;
                    let when = condition.when.to_path();
                    quote!(@scoped #scope, #when => #body)
                }
                Some(_) if condition.when.needs_scope() => {
                    let form = format!("defer!({}: ...)", condition.when.keyword());
                    self.errors
                        .push(self.site().needs_scope_error(condition, &form));
                    // Best effort: a plain `defer!`, so its body type-checks.
                    body
                }
                Some(_) => quote!(#condition_tokens #body),
            };
        }
        Stmt::Macro(StmtMacro {
            attrs,
            mac,
            semi_token,
        })
    }

    /// `cleanup!(...)`: the guard, as an expression.
    fn cleanup(&mut self, mac: &Macro) -> Expr {
        let Some(MacroBody { condition, body }) = self.errors.ok(mac.parse_body()) else {
            // Best effort: a guard that does nothing, so `.cancel()` resolves.
            return Expr::Verbatim(quote!(::exitstack::__private::Defer::new(|| {})));
        };
        let path_span = mac.path.span();
        let condition = condition.unwrap_or_else(|| Condition::always(path_span));
        if starts_with_async(&body) {
            let span = Span::mixed_site().located_at(condition.span);
            return Expr::Verbatim(match self.async_cleanup(condition, &body, "cleanup!") {
                Ok((stack, future)) => {
                    let when = condition.when.to_path();
                    quote_spanned! {span=>
                        #stack.cleanup(#when, #future)
                    }
                }
                // Best effort: something with `.cancel()`.
                Err(future) => quote_spanned! {span=> {
                    let _ = #future;
                    ::exitstack::__private::Defer::new(|| {})
                }},
            });
        }
        if condition.when.needs_scope() && self.nested.is_some() {
            let form = format!("cleanup!({}: ...)", condition.when.keyword());
            self.errors
                .push(self.site().needs_scope_error(condition, &form));
        }
        let mut body = Group::new(Delimiter::Brace, self.cleanup_body(body));
        body.set_span(mac.delimiter.span().join());
        let cleanup = Cleanup {
            condition,
            callback: Callback::Body {
                capture: None,
                param: None,
                body: body.into_token_stream(),
                span: path_span,
            },
        };
        let site = self.site();
        let scope = site
            .scope()
            .filter(|_| self.needs_scope(cleanup.condition.when, false));
        Expr::Verbatim(cleanup.guard(scope))
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
        let scope = self.scope;
        let span = Span::mixed_site().located_at(mac.path.span());
        Expr::Verbatim(if let Some(stack) = self.async_stack {
            quote_spanned!(span=> #stack.cancel_all(&#scope))
        } else {
            quote_spanned!(span=> #scope.cancel_all())
        })
    }

    /// The future of an async cleanup (`body` is `async { ... }` or
    /// `async move { ... }`), its code rewritten as a scope of its own, and
    /// the function's asynchronous stack to register it on. `Err` with the
    /// future alone (or nothing that parses) where it cannot be awaited,
    /// after reporting why.
    fn async_cleanup(
        &mut self,
        condition: Condition,
        body: &TokenStream,
        name: &str,
    ) -> Result<(&'a Ident, TokenStream), TokenStream> {
        let keyword = match condition.when {
            When::Always => String::new(),
            when => format!("{}: ", when.keyword()),
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
        let message = match (self.nested, self.async_stack) {
            (None, Some(stack)) => return Ok((stack, future.into_token_stream())),
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

    /// `#[cleanup(args)] fn`: in the function's body, the attribute is handed
    /// the scope (`#[cleanup(@__exitstack_scope, args)]`); in a nested scope
    /// it expands as outside any scope, unless it needs one.
    fn cleanup_fn(&mut self, mut func: ItemFn) -> Stmt {
        let block = &mut func.block;
        self.nested(Nested::Cleanup, |this| {
            this.visit_block_mut(block);
        });
        let Some(index) = func.attrs.iter().position(cleanup::is_cleanup_attr) else {
            return Stmt::Item(Item::Fn(func));
        };
        if self.nested.is_none() {
            let plain = match &func.attrs[index].meta {
                Meta::Path(_) => Some(When::Always),
                Meta::List(list) => list
                    .parse_args::<CleanupArgs>()
                    .ok()
                    .filter(|args| args.stack.is_none())
                    .map(|args| args.condition.map_or(When::Always, |c| c.when)),
                Meta::NameValue(_) => None,
            }
            .is_some_and(|when| !self.needs_scope(when, !func.sig.inputs.is_empty()));
            if plain {
                // Expands as outside any scope: a plain `Defer`.
                return Stmt::Item(Item::Fn(func));
            }
            let scope = self.scope;
            let attr = &mut func.attrs[index];
            let meta =
                std::mem::replace(&mut attr.meta, Meta::Path(syn::Path::from(scope.clone())));
            attr.meta = match meta {
                Meta::Path(path) => syn::parse_quote!(#path(@#scope)),
                Meta::List(mut list) => {
                    let args = list.tokens;
                    list.tokens = quote!(@#scope, #args);
                    Meta::List(list)
                }
                // `#[cleanup = ...]`: the attribute reports it.
                meta @ Meta::NameValue(_) => meta,
            };
            return Stmt::Item(Item::Fn(func));
        }
        let needs_scope = match &func.attrs[index].meta {
            Meta::List(list) => list.parse_args::<CleanupArgs>().is_ok_and(|args| {
                args.stack.is_none() && args.condition.is_some_and(|c| c.when.needs_scope())
            }),
            _ => false,
        };
        if !needs_scope {
            return Stmt::Item(Item::Fn(func));
        }
        let mut tokens = mark_used(&func.attrs[index]).unwrap_or_default();
        let args = cleanup::take_cleanup_attr(&mut func.attrs, self.errors).unwrap_or_default();
        let site = self.site();
        tokens.extend(cleanup::expand_fn(args, func, &site, self.errors));
        Stmt::Item(Item::Verbatim(tokens))
    }

    /// `#[cleanup(args)] let name = expr;`, expanded in place.
    fn cleanup_let(&mut self, mut local: Local) -> Stmt {
        let index = local.attrs.iter().position(cleanup::is_cleanup_attr);
        let used = index.and_then(|index| mark_used(&local.attrs[index]));
        let args = cleanup::take_cleanup_attr(&mut local.attrs, self.errors).unwrap_or_default();
        if let Some(init) = &mut local.init {
            self.visit_expr_mut(&mut init.expr);
        }
        let site = self.site();
        let mut tokens = used.unwrap_or_default();
        tokens.extend(cleanup::expand_let(args, local, &site, self.errors));
        Stmt::Item(Item::Verbatim(tokens))
    }
}

/// Where the rewrite consumes a `#[cleanup]` attribute (on a `let`, or after
/// reporting an error): when it was named through an import (`use
/// exitstack::cleanup;`), a `use` of that name keeps the import used (and
/// requires it, as every other use of `#[cleanup]` does).
fn mark_used(attr: &Attribute) -> Option<TokenStream> {
    let name = attr.path().get_ident()?;
    let span = Span::mixed_site().located_at(name.span());
    Some(quote_spanned! {span=>
        #[allow(unused_imports)]
        use #name as _;
    })
}

impl VisitMut for Rewriter<'_> {
    fn visit_stmt_mut(&mut self, stmt: &mut Stmt) {
        let known = match stmt {
            Stmt::Macro(mac) => Known::of(&mac.mac),
            // `defer!(...)` without `;` at the end of a block.
            Stmt::Expr(Expr::Macro(mac), _) => {
                Known::of(&mac.mac).filter(|known| *known == Known::Defer)
            }
            Stmt::Item(Item::Fn(func)) if func.attrs.iter().any(cleanup::is_cleanup_attr) => {
                if let Stmt::Item(Item::Fn(func)) = take(stmt) {
                    *stmt = self.cleanup_fn(func);
                }
                return;
            }
            // Nested items keep their own scopes.
            Stmt::Item(_) => return,
            Stmt::Local(local) if local.attrs.iter().any(cleanup::is_cleanup_attr) => {
                if let Stmt::Local(local) = take(stmt) {
                    *stmt = self.cleanup_let(local);
                }
                return;
            }
            _ => None,
        };
        let Some(known) = known else {
            visit_mut::visit_stmt_mut(self, stmt);
            return;
        };
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
            Known::Defer => self.defer(attrs, mac),
            Known::Cleanup if semi_token.is_some() => {
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
            Known::Cleanup => Stmt::Expr(self.cleanup(&mac), semi_token),
            Known::PopAll => Stmt::Expr(self.pop_all(&mac), semi_token),
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
                if let (None, Some(value)) = (self.nested, &mut ret.expr) {
                    observe::returned(value, self.scope);
                }
            }
            Expr::Try(try_expr) => {
                visit_mut::visit_expr_try_mut(self, try_expr);
                if self.nested.is_none() {
                    observe::try_operand(&mut try_expr.expr, self.scope);
                }
            }
            Expr::Macro(mac) => match Known::of(&mac.mac) {
                Some(Known::Cleanup) => *expr = self.cleanup(&mac.mac),
                Some(Known::PopAll) => *expr = self.pop_all(&mac.mac),
                // `defer!` is a statement; elsewhere it reports that itself.
                Some(Known::Defer) | None => {}
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
            let is_call = index >= 2
                && matches!(&tokens[index - 1], TokenTree::Punct(bang) if bang.as_char() == '!')
                && matches!(&tokens[index - 2], TokenTree::Ident(name) if name == "defer" || name == "cleanup");
            (is_call && is_async_body(group.stream())) || has_async_cleanup(group.stream())
        }
        _ => false,
    })
}

fn is_async_body(body: TokenStream) -> bool {
    let mut tokens = body.into_iter();
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
