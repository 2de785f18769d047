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
//! Closures, async, const and try blocks are scopes of their own: their
//! `return` and `?` are not the function's, so they are not observed, and
//! cleanups written in them are expanded as outside any scope — the forms
//! that need the function's scope are errors there. Nested items are left
//! alone: they keep their own scopes, and their own attributes.

use proc_macro2::{Delimiter, Group, Ident, Span, TokenStream};
use quote::{ToTokens, quote, quote_spanned};
use syn::parse::Parser;
use syn::spanned::Spanned;
use syn::visit_mut::{self, VisitMut};
use syn::{Attribute, Block, Expr, Item, ItemFn, Local, Macro, Meta, Stmt, StmtMacro, Token};

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
    pub(crate) fn new(scope: &'a Ident, block: &Block, errors: &'a mut Errors) -> Self {
        Rewriter {
            scope,
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
        {
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
        Expr::Verbatim(quote_spanned!(span=> #scope.cancel_all()))
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
                self.errors.push(format_err!(
                    mac,
                    "this drops the guard `cleanup!` returns, which runs the cleanup at once: \
                     bind it (`let guard = cleanup!(...);`), or write `defer!(...)`"
                ));
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
            proc_macro2::TokenTree::Ident(ident) => previous_is_pop_all = ident == "pop_all",
            proc_macro2::TokenTree::Punct(punct) if previous_is_pop_all && punct.as_char() == '!' => {
                return true;
            }
            proc_macro2::TokenTree::Group(group) => {
                if calls_pop_all(group.stream()) {
                    return true;
                }
                previous_is_pop_all = false;
            }
            proc_macro2::TokenTree::Punct(_) | proc_macro2::TokenTree::Literal(_) => {
                previous_is_pop_all = false;
            }
        }
    }
    false
}
