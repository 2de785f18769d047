//! The decorator form: `#[cleanup] fn name() { ... }` (everywhere) and
//! `#[cleanup] let name = || ...;` (in an `#[exitstack::scope]` fn), both
//! turned into `let name = <guard or key>;`.

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{
    Attribute, Expr, FnArg, Item, ItemFn, Local, Pat, PatIdent, ReturnType, Signature, Type,
    Visibility,
};

use crate::args::{CleanupArgs, Condition};
use crate::error::{Errors, bail, format_err};
use crate::expand::{Callback, Cleanup};
use crate::site::{Output, Site};

/// `#[cleanup]` as an attribute macro: a `fn` in a block without an
/// enclosing `#[exitstack::scope]` (inside one, the scope attribute expands
/// it in place, through [`expand_fn`] too).
pub(crate) fn attribute(args: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    let mut errors = Errors::default();
    let args = errors
        .ok(syn::parse2::<CleanupArgs>(args))
        .unwrap_or_default();
    if is_let(&item) {
        bail!(
            item,
            "`#[cleanup] let` works only in the body of an `#[exitstack::scope]` fn; \
             elsewhere write `#[cleanup] fn name() {{ ... }}`"
        );
    }
    let func = match syn::parse2::<Item>(item)? {
        Item::Fn(func) => func,
        item => bail!(
            item,
            "`#[cleanup]` goes on a `fn` declared inside a block, which becomes the cleanup"
        ),
    };
    if let Some(receiver) = func.sig.receiver() {
        // A method: the item must stay one, or the `impl` breaks around it.
        bail!(
            receiver,
            "a cleanup has no `self`: `#[cleanup]` goes on a `fn` declared inside a block, \
             which captures what it needs from the surrounding scope"
        );
    }
    let tokens = expand_fn(args, func, &Site::Standalone, &mut errors);
    Ok(errors.emit_with(tokens))
}

fn is_let(item: &TokenStream) -> bool {
    matches!(item.clone().into_iter().next(), Some(proc_macro2::TokenTree::Ident(ident)) if ident == "let")
}

/// Whether `attr` is `#[cleanup]`, `#[cleanup(...)]`, `#[exitstack::cleanup...]`
/// or `#[<crate>::cleanup...]` for the crate path `krate` of `crate = path`.
pub(crate) fn is_cleanup_attr(attr: &Attribute, krate: Option<&syn::Path>) -> bool {
    crate::site::names(attr.path(), "cleanup", krate)
}

/// Splits off the first `#[cleanup]` attribute and parses its arguments.
pub(crate) fn take_cleanup_attr(
    attrs: &mut Vec<Attribute>,
    krate: Option<&syn::Path>,
    errors: &mut Errors,
) -> Option<CleanupArgs> {
    let index = attrs.iter().position(|attr| is_cleanup_attr(attr, krate))?;
    let attr = attrs.remove(index);
    let args = match &attr.meta {
        syn::Meta::Path(_) => CleanupArgs::default(),
        syn::Meta::List(list) => errors
            .ok(list.parse_args::<CleanupArgs>())
            .unwrap_or_default(),
        syn::Meta::NameValue(_) => {
            errors.push(format_err!(attr, "write `#[cleanup]` or `#[cleanup(...)]`"));
            CleanupArgs::default()
        }
    };
    Some(args)
}

/// `#[cleanup(args)] fn name(...) { body }` becomes `let name = ...;`.
pub(crate) fn expand_fn(
    args: CleanupArgs,
    func: ItemFn,
    site: &Site<'_>,
    errors: &mut Errors,
) -> TokenStream {
    let ItemFn {
        attrs,
        vis,
        mut sig,
        block,
    } = func;
    let CleanupArgs {
        condition,
        stack,
        capture,
        krate,
    } = args;
    check_visibility(&vis, errors);
    let mut shape = check_signature(&sig, errors);
    let returns = fn_returns(
        &sig,
        &block,
        site,
        stack.is_some(),
        krate.as_ref(),
        condition,
        errors,
    );
    let (output, fallible) = match &returns {
        Returns::Nothing => (None, None),
        Returns::Fallible { output, at } => (Some(output.clone()), Some(*at)),
        Returns::Refused { .. } => {
            shape = Shape::Invalid;
            (None, None)
        }
    };
    let (param, body) = match shape {
        Shape::Plain => (None, block.into_token_stream()),
        Shape::ExitCallback => match sig.inputs.pop().map(syn::punctuated::Pair::into_value) {
            Some(FnArg::Typed(param)) => (Some(param), block.into_token_stream()),
            _ => unreachable!("checked: one typed parameter"),
        },
        Shape::Invalid => match returns {
            Returns::Refused {
                output,
                tail: Some(tail),
            } => (None, inert(&sig, &output, &quote!({ #block #tail }))),
            _ => (
                None,
                inert(
                    &sig,
                    &sig.output.to_token_stream(),
                    &block.into_token_stream(),
                ),
            ),
        },
    };
    // An inert body returns nothing.
    let (output, fallible) = if matches!(shape, Shape::Invalid) {
        (None, None)
    } else {
        (output, fallible)
    };
    let condition = condition.unwrap_or_else(|| Condition::always(sig.ident.span()));
    let callback = Callback::Body {
        capture,
        param,
        output,
        body,
        span: sig.fn_token.span,
    };
    let attrs: Vec<_> = attrs
        .iter()
        .filter(|attr| !attr.path().is_ident("doc"))
        .collect();
    bind(
        &attrs,
        &sig.ident,
        krate.as_ref(),
        stack.as_ref(),
        &Cleanup {
            condition,
            callback,
            fallible,
        },
        site,
        errors,
    )
}

/// What the return type of a `#[cleanup] fn` (or a `?` in its body) makes
/// it.
enum Returns {
    /// No return type: a plain cleanup.
    Nothing,
    /// A fallible cleanup (`-> output`), whose bounds are reported at `at`.
    Fallible { output: TokenStream, at: Span },
    /// Refused, and reported: the body is made inert, with the return type
    /// `output` and, for a `?` without a return type, `tail` after it.
    Refused {
        output: TokenStream,
        tail: Option<TokenStream>,
    },
}

fn fn_returns(
    sig: &Signature,
    block: &syn::Block,
    site: &Site<'_>,
    on_stack: bool,
    krate: Option<&syn::Path>,
    condition: Option<Condition>,
    errors: &mut Errors,
) -> Returns {
    let name = &sig.ident;
    let ty = match &sig.output {
        ReturnType::Type(_, ty) => ty,
        ReturnType::Default => {
            let Some(question) = top_level_question(block) else {
                return Returns::Nothing;
            };
            let message = match site {
                Site::Scope(_) => format!(
                    "a `?` in a cleanup needs a return type for its error: write `fn {name}() -> \
                     Result<(), E>`, a fallible cleanup, whose error becomes the function's `Err`"
                ),
                _ if on_stack => format!(
                    "a `?` in a cleanup needs a return type for its error: write `fn {name}() -> \
                     Result<(), E>`, a fallible cleanup, whose error `close()` returns"
                ),
                site => {
                    let form = format!("#[cleanup] fn {name}() -> Result<(), E>");
                    crate::site::fallible_error(site, &form, question)
                        .map(|error| error.to_string())
                        .unwrap_or_default()
                }
            };
            errors.push(syn::Error::new(question, message));
            // The body still type-checks, its `?`s into a `BoxError`.
            let krate = crate::args::crate_path(krate);
            let span = Span::mixed_site();
            return Returns::Refused {
                output: quote_spanned!(span=> -> ::core::result::Result<(), #krate::BoxError>),
                tail: Some(quote_spanned!(span=> ; ::core::result::Result::Ok(()))),
            };
        }
    };
    let form = format!("#[cleanup] fn {name}() -> {}", written(ty));
    match refused_return(ty, &form, site, on_stack, condition) {
        Some(error) => {
            errors.push(error);
            Returns::Refused {
                output: sig.output.to_token_stream(),
                tail: None,
            }
        }
        None => Returns::Fallible {
            output: sig.output.to_token_stream(),
            at: ty.span(),
        },
    }
}

/// Whether `#[cleanup] let name = expr;` is a fallible cleanup (a closure
/// with a return type: where its bounds are reported), and whether its
/// return type was refused (reported).
fn fallible_let(
    expr: &Expr,
    name: &syn::Ident,
    site: &Site<'_>,
    on_stack: bool,
    condition: Option<Condition>,
    errors: &mut Errors,
) -> (Option<Span>, bool) {
    let Expr::Closure(syn::ExprClosure {
        output: ReturnType::Type(_, ty),
        ..
    }) = expr
    else {
        return (None, false);
    };
    let form = format!("#[cleanup] let {name} = || -> {} {{ .. }}", written(ty));
    match refused_return(ty, &form, site, on_stack, condition) {
        Some(error) => {
            errors.push(error);
            (None, true)
        }
        None => (Some(ty.span()), false),
    }
}

/// Why a cleanup (`form`) cannot return `ty`, if it cannot: `ty` is no
/// `Result`, or the cleanup cannot be a fallible one where it is.
fn refused_return(
    ty: &Type,
    form: &str,
    site: &Site<'_>,
    on_stack: bool,
    condition: Option<Condition>,
) -> Option<syn::Error> {
    if !matches!(Output::of(Some(ty)), Output::Maybe) {
        return Some(format_err!(
            ty,
            "a cleanup cannot return a value: nothing receives it; remove the return type (a \
             fallible cleanup returns `Result<(), E>`, and its error becomes the `Err` of the \
             `#[exitstack::scope]` fn it is written in)"
        ));
    }
    if on_stack {
        return None;
    }
    let condition = condition.unwrap_or_else(|| Condition::always(Span::call_site()));
    crate::site::fallible_error(site, form, ty.span())
        .or_else(|| crate::site::fallible_on_panic(condition, form))
}

/// A type as its tokens print, without the spaces `ToTokens` puts around
/// its punctuation (for messages).
fn written(ty: &Type) -> String {
    ty.to_token_stream()
        .to_string()
        .replace(" :: ", "::")
        .replace(":: ", "::")
        .replace(" <", "<")
        .replace("< ", "<")
        .replace(" >", ">")
        .replace(" ,", ",")
        .replace("& ", "&")
        .replace("( ", "(")
        .replace(" )", ")")
}

/// The first `?` of `block` that is the block's own: not inside a closure,
/// an `async`, `const` or `try` block, or an item.
pub(crate) fn top_level_question(block: &syn::Block) -> Option<Span> {
    use syn::visit_mut::VisitMut;
    struct Find(Option<Span>);
    impl VisitMut for Find {
        fn visit_expr_mut(&mut self, expr: &mut Expr) {
            match expr {
                Expr::Closure(_) | Expr::Async(_) | Expr::Const(_) | Expr::TryBlock(_) => {}
                Expr::Try(question) if self.0.is_none() => {
                    self.0 = Some(question.question_token.span);
                }
                _ => syn::visit_mut::visit_expr_mut(self, expr),
            }
        }
        fn visit_item_mut(&mut self, _: &mut Item) {}
    }
    let mut block: syn::Block =
        syn::parse2(block.to_token_stream()).expect("printed syntax parses back");
    let mut find = Find(None);
    find.visit_block_mut(&mut block);
    find.0
}

/// `#[cleanup(args)] let name = expr;` (inside `#[exitstack::scope]` only)
/// becomes `let name = ...;`.
pub(crate) fn expand_let(
    args: CleanupArgs,
    local: Local,
    site: &Site<'_>,
    errors: &mut Errors,
) -> TokenStream {
    let Local {
        attrs,
        let_token,
        pat,
        init,
        semi_token,
    } = local;
    let CleanupArgs {
        condition,
        stack,
        capture,
        krate,
    } = args;
    if let Some(capture) = capture {
        errors.push(format_err!(
            capture,
            "`#[cleanup(move)]` is for a `fn`: write the `let` closure as `move || ...`"
        ));
    }
    let name = match pat {
        Pat::Ident(PatIdent {
            by_ref: None,
            subpat: None,
            ident,
            ..
        }) if ident != "_" => ident,
        pat => {
            errors.push(format_err!(
                pat,
                "bind a cleanup to a plain name: `#[cleanup] let name = || ...;`"
            ));
            syn::Ident::new("__exitstack_unnamed", Span::mixed_site())
        }
    };
    let expr = if let Some(init) = init {
        if let Some((else_token, _)) = &init.diverge {
            errors.push(format_err!(else_token, "a cleanup has no `else` branch"));
        }
        *init.expr
    } else {
        errors.push(syn::Error::new(
            semi_token.span,
            "a cleanup needs its code: `#[cleanup] let name = || ...;`",
        ));
        syn::parse_quote_spanned!(let_token.span=> || {})
    };
    let (fallible, refused) = fallible_let(&expr, &name, site, stack.is_some(), condition, errors);
    let (expr, takes_outcome) = match expr {
        Expr::Closure(closure) if closure.inputs.len() > 1 || refused => {
            if closure.inputs.len() > 1 {
                errors.push(format_err!(
                    closure.inputs,
                    "a cleanup closure takes no parameters, or one `Outcome` to see how the scope \
                     ended: capture what it needs from the surrounding scope instead"
                ));
            }
            // Best effort: the closure is type-checked, never called.
            let span = Span::mixed_site();
            let inert = quote_spanned! {span=> || {
                #[allow(unused_variables)]
                let _ = #closure;
            }};
            (Expr::Verbatim(inert), false)
        }
        Expr::Closure(closure) => {
            let takes_outcome = closure.inputs.len() == 1;
            (Expr::Closure(closure), takes_outcome)
        }
        expr => (expr, false),
    };
    let condition = condition.unwrap_or_else(|| Condition::always(name.span()));
    let callback = Callback::Value {
        expr,
        takes_outcome,
    };
    let attrs: Vec<_> = attrs.iter().collect();
    bind(
        &attrs,
        &name,
        krate.as_ref(),
        stack.as_ref(),
        &Cleanup {
            condition,
            callback,
            fallible,
        },
        site,
        errors,
    )
}

/// `let name = <guard, or key on the explicit stack>;`, the name marked as
/// used: the decorator form is often never referred to again. The item's
/// other attributes (`#[cfg]`, lint levels) go on both statements.
#[allow(
    clippy::too_many_arguments,
    reason = "one call per form, each argument named"
)]
fn bind(
    attrs: &[&Attribute],
    name: &syn::Ident,
    krate: Option<&syn::Path>,
    stack: Option<&Expr>,
    cleanup: &Cleanup,
    site: &Site<'_>,
    errors: &mut Errors,
) -> TokenStream {
    let krate = match (krate, site.scope()) {
        (None, Some(locals)) => locals.krate.clone(),
        (krate, _) => crate::args::crate_path(krate),
    };
    let value = if let Some(stack) = stack {
        cleanup.register(&krate, stack)
    } else {
        if cleanup.condition.when.needs_scope() && site.scope().is_none() {
            let form = format!("#[cleanup({})]", cleanup.condition.when.keyword());
            errors.push(site.needs_scope_error(cleanup.condition, &form));
        }
        cleanup.guard(&krate, site.scope())
    };
    let span = Span::mixed_site().located_at(name.span());
    quote_spanned! {span=>
        #(#attrs)*
        let #name = #value;
        #(#attrs)*
        let _ = &#name;
    }
}

/// Reports a visibility, which a local cannot have.
fn check_visibility(vis: &Visibility, errors: &mut Errors) {
    if !matches!(vis, Visibility::Inherited) {
        errors.push(format_err!(
            vis,
            "a cleanup is a local guard, not an item: remove the visibility"
        ));
    }
}

/// What a cleanup's signature says it is.
enum Shape {
    /// `fn name()`.
    Plain,
    /// `fn name(pattern: Outcome)`.
    ExitCallback,
    /// Something a cleanup cannot be, reported.
    Invalid,
}

/// The body of a cleanup whose signature was reported: a closure with the
/// signature's parameters and return type that is never called, so that the
/// body still type-checks (and an IDE still sees it) without more errors.
fn inert(sig: &Signature, output: &TokenStream, block: &TokenStream) -> TokenStream {
    let asyncness = &sig.asyncness;
    let inputs = sig
        .inputs
        .iter()
        .filter(|arg| matches!(arg, FnArg::Typed(_)));
    let body = match &sig.unsafety {
        Some(unsafety) => quote!({ #unsafety #block }),
        None => block.into_token_stream(),
    };
    let span = Span::mixed_site();
    quote_spanned! {span=> {
        #[allow(unused_variables, unused_unsafe)]
        let _ = #asyncness |#(#inputs),*| #output #body;
    }}
}

/// Reports everything a cleanup's signature cannot have.
fn check_signature(sig: &Signature, errors: &mut Errors) -> Shape {
    let mut shape = Shape::Plain;
    let mut invalid = |error: syn::Error| {
        errors.push(error);
        shape = Shape::Invalid;
    };
    if let Some(constness) = &sig.constness {
        invalid(format_err!(
            constness,
            "a cleanup cannot be `const`: remove `const`"
        ));
    }
    if let Some(asyncness) = &sig.asyncness {
        invalid(format_err!(
            asyncness,
            "a cleanup cannot be `async`: it runs when the block ends, and dropping cannot await; \
             remove `async`, or in an `#[exitstack::scope] async fn` write \
             `defer!(async {{ ... }})`"
        ));
    }
    if let Some(unsafety) = &sig.unsafety {
        invalid(format_err!(
            unsafety,
            "a cleanup cannot be an `unsafe fn`: write an `unsafe {{ ... }}` block in its body instead"
        ));
    }
    if let Some(abi) = &sig.abi {
        invalid(format_err!(
            abi,
            "a cleanup has no ABI: remove `{}`",
            abi.to_token_stream()
        ));
    }
    if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
        let generics = &sig.generics;
        let where_clause = &generics.where_clause;
        invalid(format_err!(
            quote!(#generics #where_clause),
            "a cleanup cannot be generic: it is a closure over the surrounding scope, \
             which can name the types it needs"
        ));
    }
    if let Some(variadic) = &sig.variadic {
        invalid(format_err!(variadic, "a cleanup cannot be variadic"));
    }

    let mut inputs = sig.inputs.iter();
    let takes_outcome = match (inputs.next(), inputs.next()) {
        (None, _) => false,
        (Some(FnArg::Receiver(receiver)), None) => {
            invalid(format_err!(
                receiver,
                "a cleanup has no `self`: capture what it needs from the surrounding scope instead"
            ));
            false
        }
        (Some(FnArg::Typed(param)), None) if is_outcome(&param.ty) => true,
        (Some(param), None) => {
            invalid(format_err!(
                param,
                "a cleanup takes no parameters, or one `Outcome` to see how the scope ended \
                 (`outcome: exitstack::Outcome`): capture what it needs from the surrounding \
                 scope instead"
            ));
            false
        }
        (Some(_), Some(_)) => {
            invalid(format_err!(
                sig.inputs,
                "a cleanup cannot take parameters: capture what it needs from the surrounding \
                 scope instead (an exit callback takes exactly one `Outcome`)"
            ));
            false
        }
    };
    match shape {
        Shape::Plain if takes_outcome => Shape::ExitCallback,
        shape => shape,
    }
}

/// `Outcome` or a path ending in it: the compiler checks it is exitstack's.
fn is_outcome(ty: &Type) -> bool {
    match ty {
        Type::Path(path) => {
            path.qself.is_none()
                && path
                    .path
                    .segments
                    .last()
                    .is_some_and(|last| last.ident == "Outcome" && last.arguments.is_none())
        }
        Type::Paren(paren) => is_outcome(&paren.elem),
        Type::Group(group) => is_outcome(&group.elem),
        _ => false,
    }
}
