//! `#[exitstack::scope]`: gives a function an implicit stack that sees its
//! `Err` returns, and an `async fn` with async cleanups an implicit
//! asynchronous stack that awaits them.

use proc_macro2::{Ident, Span, TokenStream, TokenTree};
use quote::{ToTokens, quote, quote_spanned};
use syn::parse::{Parse, ParseStream};
use syn::visit_mut::VisitMut;
use syn::{Block, Expr, ExprBlock, Item, ReturnType, Stmt, Token};

use crate::error::{Errors, bail, format_err};
use crate::observe;
use crate::rewrite::{self, Rewriter};

/// ```text
/// fn f(args) -> R {
///     let __exitstack_scope = ::exitstack::__private::Scope::new();
///     { <the user's block, rewritten> }
/// }
/// ```
///
/// The signature is untouched, so `async fn`, generics, `impl Trait`,
/// receivers and other attributes are as written; the user's block keeps a
/// scope of its own, so its locals (and the guards among them) are dropped
/// before the scope they borrow.
///
/// An `async fn` whose body has async cleanups also gets an implicit
/// asynchronous stack, and its block becomes an `async` block of its own,
/// awaited before the cleanups (see `exitstack::__private::AsyncScope`):
///
/// ```text
/// async fn f(args) -> R {
///     let __exitstack_scope = ::exitstack::__private::Scope::new();
///     let __exitstack_async = ::exitstack::__private::AsyncScope::send();
///     __exitstack_async
///         .run(&__exitstack_scope, async {
///             if false {
///                 return ::exitstack::__private::output::<R>();
///             }
///             <the user's block, rewritten>
///         })
///         .await
/// }
/// ```
pub(crate) fn attribute(args: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    let mut errors = Errors::default();
    let not_send = errors
        .ok(syn::parse2::<ScopeArgs>(args))
        .and_then(|args| args.not_send);
    let mut func = match syn::parse2::<Item>(item)? {
        Item::Fn(func) => func,
        item => bail!(
            item,
            "`#[exitstack::scope]` goes on a `fn` or method with a body"
        ),
    };
    if let Some(constness) = &func.sig.constness {
        errors.push(format_err!(
            constness,
            "`#[exitstack::scope]` cannot be used on a `const fn`: its cleanups run in \
             destructors, at run time"
        ));
    }

    if let (Some(question), None) = (&not_send, &func.sig.asyncness) {
        errors.push(format_err!(
            question,
            "`?Send` is for an `async fn`: it lets its async cleanups hold values that are not \
             `Send`"
        ));
    }

    let scope = Ident::new("__exitstack_scope", Span::mixed_site());
    let async_stack = Ident::new("__exitstack_async", Span::mixed_site());
    let has_async_stack =
        func.sig.asyncness.is_some() && rewrite::has_async_cleanup(func.block.to_token_stream());
    Rewriter::new(
        &scope,
        has_async_stack.then_some(&async_stack),
        &func.block,
        &mut errors,
    )
    .visit_block_mut(&mut func.block);
    observe::tail(&mut func.block, &scope);

    let brace_token = syn::token::Brace {
        span: func.block.brace_token.span,
    };
    let user_block = std::mem::replace(
        &mut *func.block,
        Block {
            brace_token,
            stmts: Vec::new(),
        },
    );
    let span = Span::mixed_site();
    let declare_scope = Stmt::Item(Item::Verbatim(quote_spanned! {span=>
        let #scope = ::exitstack::__private::Scope::new();
    }));
    func.block.stmts = if has_async_stack {
        let new = Ident::new(if not_send.is_some() { "local" } else { "send" }, span);
        // The fake return edge: see `exitstack::__private::output`.
        let edge = nameable_output(&func.sig.output).map(|output| {
            quote_spanned! {span=>
                if false {
                    return ::exitstack::__private::output::<#output>();
                }
            }
        });
        let body = quote_spanned!(span=> async { #edge #user_block });
        vec![
            declare_scope,
            Stmt::Item(Item::Verbatim(quote_spanned! {span=>
                let #async_stack = ::exitstack::__private::AsyncScope::#new();
            })),
            Stmt::Expr(
                Expr::Verbatim(quote_spanned! {span=>
                    #async_stack.run(&#scope, #body).await
                }),
                None,
            ),
        ]
    } else {
        vec![
            declare_scope,
            Stmt::Expr(
                Expr::Block(ExprBlock {
                    attrs: Vec::new(),
                    label: None,
                    block: user_block,
                }),
                None,
            ),
        ]
    };
    Ok(errors.emit_with(func.into_token_stream()))
}

/// `#[exitstack::scope]` or `#[exitstack::scope(?Send)]`.
struct ScopeArgs {
    not_send: Option<Token![?]>,
}

impl Parse for ScopeArgs {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        if input.is_empty() {
            return Ok(ScopeArgs { not_send: None });
        }
        let all: TokenStream = input.fork().parse()?;
        let question: Option<Token![?]> = input.parse()?;
        let send: Option<Ident> = input.parse()?;
        let rest: TokenStream = input.parse()?;
        match (question, send) {
            (Some(question), Some(send)) if send == "Send" && rest.is_empty() => Ok(ScopeArgs {
                not_send: Some(question),
            }),
            (Some(_), _) => Err(syn::Error::new_spanned(
                all,
                "expected `?Send`: `#[exitstack::scope(?Send)]` is for an `async fn` whose \
                 async cleanups are not `Send`",
            )),
            (None, _) => Err(syn::Error::new_spanned(
                all,
                "`#[exitstack::scope]` takes no arguments, except `?Send` on an `async fn` whose \
                 async cleanups are not `Send`",
            )),
        }
    }
}

/// The return type as a type the body can name: `()` for none, nothing for
/// one that contains `impl Trait` (its value then decides the type).
fn nameable_output(output: &ReturnType) -> Option<TokenStream> {
    match output {
        ReturnType::Default => Some(quote!(())),
        ReturnType::Type(_, ty) => {
            let tokens = ty.to_token_stream();
            (!mentions_impl(tokens.clone())).then_some(tokens)
        }
    }
}

fn mentions_impl(tokens: TokenStream) -> bool {
    tokens.into_iter().any(|token| match token {
        TokenTree::Ident(ident) => ident == "impl",
        TokenTree::Group(group) => mentions_impl(group.stream()),
        TokenTree::Punct(_) | TokenTree::Literal(_) => false,
    })
}
