//! `#[exitstack::scope]`: gives a function an implicit stack that sees its
//! `Err` returns.

use proc_macro2::{Ident, Span, TokenStream};
use quote::{ToTokens, quote_spanned};
use syn::visit_mut::VisitMut;
use syn::{Block, Expr, ExprBlock, Item, Stmt};

use crate::error::{Errors, bail, format_err};
use crate::observe;
use crate::rewrite::Rewriter;

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
pub(crate) fn attribute(args: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    let mut errors = Errors::default();
    if !args.is_empty() {
        errors.push(syn::Error::new_spanned(
            args,
            "`#[exitstack::scope]` takes no arguments",
        ));
    }
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

    let scope = Ident::new("__exitstack_scope", Span::mixed_site());
    Rewriter::new(&scope, &func.block, &mut errors).visit_block_mut(&mut func.block);
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
    func.block.stmts = vec![
        Stmt::Item(Item::Verbatim(quote_spanned! {span=>
            let #scope = ::exitstack::__private::Scope::new();
        })),
        Stmt::Expr(
            Expr::Block(ExprBlock {
                attrs: Vec::new(),
                label: None,
                block: user_block,
            }),
            None,
        ),
    ];
    Ok(errors.emit_with(func.into_token_stream()))
}
