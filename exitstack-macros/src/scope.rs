//! `#[exitstack::scope]`: gives a function an implicit stack that sees every
//! value it returns, and an `async fn` with async cleanups an implicit
//! asynchronous stack that awaits them.
//!
//! Three steps: [`parse`] the arguments and the item, [`analyse`] what the
//! function is (its body's form, its return type), [`expand`] it.

use std::cell::Cell;

use proc_macro2::{Ident, Span, TokenStream};
use quote::{ToTokens, quote, quote_spanned};
use syn::spanned::Spanned as _;
use syn::visit_mut::VisitMut;
use syn::{Block, Expr, Generics, Item, ItemFn, ReturnType, Stmt, Type};

use crate::args::{self, ScopeArgs};
use crate::error::{Errors, bail, format_err};
use crate::observe::{self, Check, Returns};
use crate::rewrite::{self, Rewriter};
use crate::site::{Locals, Output};

pub(crate) fn attribute(args: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    let mut errors = Errors::default();
    let (args, func) = parse(args, item, &mut errors)?;
    let Some(function) = analyse(&args, &func, &mut errors) else {
        return Ok(errors.emit_with(func.into_token_stream()));
    };
    let tokens = expand(&args, func, function, &mut errors);
    Ok(errors.emit_with(tokens))
}

/// Step 1: the arguments (recoverable) and the `fn` (fatal if it is none).
fn parse(
    args: TokenStream,
    item: TokenStream,
    errors: &mut Errors,
) -> syn::Result<(ScopeArgs, ItemFn)> {
    let args = errors
        .ok(syn::parse2::<ScopeArgs>(args))
        .unwrap_or_default();
    match syn::parse2::<Item>(item)? {
        Item::Fn(func) => Ok((args, func)),
        item => bail!(
            item,
            "`#[exitstack::scope]` goes on a `fn` or method with a body"
        ),
    }
}

/// What the function's body is, as the expansion treats it.
enum Body {
    /// A sync `fn`: the body runs as a closure.
    Sync,
    /// An `async fn`: the body runs as an `async` block.
    Async,
    /// A method of an `#[async_trait]` impl, which rewrote `async fn f() ->
    /// R { body }` into `fn f() -> Pin<Box<dyn Future<Output = R> + ..>>`
    /// with the body `Box::pin(async move { let __ret: R = { body }; __ret })`:
    /// the `async move` block's statements are replaced.
    AsyncTrait {
        /// `Box::pin`, as async-trait wrote it.
        pin: Box<Expr>,
        /// The `async move` block.
        future: syn::ExprAsync,
        /// `R`, from `let __ret: R`.
        output: Box<Type>,
        /// The user's block, from `= { body }`.
        block: Box<Block>,
    },
}

/// Step 2's result.
struct Function {
    body: Body,
    /// The return type `R` of the body; `None` for `()`.
    output: Option<Box<Type>>,
    check: Check,
    /// Whether the body has async cleanups: it gets an implicit async stack.
    has_async_stack: bool,
}

/// Step 2: checks what the attribute cannot apply to (reported; `None`
/// leaves the function as written) and finds the body's form.
fn analyse(args: &ScopeArgs, func: &ItemFn, errors: &mut Errors) -> Option<Function> {
    let mut valid = true;
    if let Some(constness) = &func.sig.constness {
        errors.push(format_err!(
            constness,
            "`#[exitstack::scope]` cannot be used on a `const fn`: its cleanups run in \
             destructors, at run time"
        ));
        valid = false;
    }
    if let Some(attr) = func
        .attrs
        .iter()
        .find(|attr| attr.path().is_ident("track_caller"))
    {
        errors.push(format_err!(
            attr,
            "`#[track_caller]` cannot go with `#[exitstack::scope]`: the body runs in a \
             closure, which `#[track_caller]` does not pass through on stable Rust, so \
             `Location::caller()` and panics would report the function itself; remove one"
        ));
        valid = false;
    }
    let never = match &func.sig.output {
        ReturnType::Type(_, ty) => match &**ty {
            Type::Never(never) => Some(never),
            _ => None,
        },
        ReturnType::Default => None,
    };
    if let Some(never) = never {
        errors.push(format_err!(
            never,
            "`#[exitstack::scope]` has nothing to observe in a function that never returns \
             (`-> !`): its cleanups run only on a panic; remove the attribute (`defer!` works \
             without it, `defer!(on_panic: ..)` too)"
        ));
        valid = false;
    }
    let body = if func.sig.asyncness.is_some() {
        Body::Async
    } else if let Some(body) = async_trait(&func.block) {
        body
    } else {
        if let Some(local) = rewritten_by_tokio(&func.block) {
            errors.push(syn::Error::new(
                Span::call_site(),
                "`#[exitstack::scope]` must be written above `#[tokio::main]` or \
                 `#[tokio::test]` (or any attribute that rewrites the body): it expands after \
                 them, and sees their `async` block instead of the body as written",
            ));
            errors.push(format_err!(
                local,
                "this `async` block was written by the attribute above `#[exitstack::scope]`"
            ));
            return None;
        }
        Body::Sync
    };
    if let (Some(question), Body::Sync) = (&args.not_send, &body) {
        errors.push(format_err!(
            question,
            "`?Send` is for an `async fn`: it lets its async cleanups hold values that are not \
             `Send`"
        ));
    }
    check_spawn(args, &body, errors);
    let output = match &body {
        Body::AsyncTrait { output, .. } => Some(copy(&**output)),
        Body::Sync | Body::Async => match &func.sig.output {
            ReturnType::Default => None,
            ReturnType::Type(_, ty) => Some(copy(&**ty)),
        },
    };
    let output: Option<Box<Type>> = output.map(Box::new);
    let mut check = check(output.as_deref(), &func.sig.generics);
    let block = match &body {
        Body::AsyncTrait { block, .. } => block,
        Body::Sync | Body::Async => &func.block,
    };
    // With a spawner, always: the spawner is evaluated and type-checked
    // even before the first async cleanup is written.
    let has_async_stack = !matches!(body, Body::Sync)
        && (args.spawn.is_some() || rewrite::has_async_cleanup(block.to_token_stream()));
    // No cleanup depends on errors: nothing to observe, no bound to ask
    // for, and no run-time check of a type the attribute cannot see.
    if check != Check::Unit && !rewrite::has_outcome_cleanup(block.to_token_stream()) {
        check = Check::Unobserved;
    }
    valid.then_some(Function {
        body,
        output,
        check,
        has_async_stack,
    })
}

/// `spawn = ..` is for an `async fn` whose async cleanups are `Send`.
fn check_spawn(args: &ScopeArgs, body: &Body, errors: &mut Errors) {
    if let Some((keyword, _)) = &args.spawn {
        if matches!(body, Body::Sync) {
            errors.push(syn::Error::new(
                *keyword,
                "`spawn = ..` is for an `async fn`: it hands the function's async cleanups to a \
                 spawner when the function's future is dropped before it finished",
            ));
        } else if let Some(question) = &args.not_send {
            errors.push(syn::Error::new(
                *keyword,
                "`spawn = ..` cannot go with `?Send`: handed-off cleanups run on another task, so \
                 they must be `Send`",
            ));
            errors.push(format_err!(question, "`?Send` is here"));
        }
    }
}

/// How a returned value is checked, by its type as written.
fn check(output: Option<&Type>, generics: &Generics) -> Check {
    let Some(ty) = output else {
        return Check::Unit;
    };
    match ty {
        Type::Tuple(tuple) if tuple.elems.is_empty() => Check::Unit,
        Type::Paren(paren) => check(Some(&paren.elem), generics),
        Type::Group(group) => check(Some(&group.elem), generics),
        // `<T as Trait>::Out`.
        Type::Path(path) if path.qself.is_some() => Check::Generic,
        // `T`, `T::Out`, `Self::Out`: generic. A bare `Self` is usually the
        // concrete type of an inherent impl (`fn new() -> Self`), so it is
        // observed like one; where it is a parameter after all (a trait's
        // default method), a `Result` behind it is caught when it is
        // returned, loudly (`__private::NotAnError`).
        Type::Path(path) => {
            let first = &path.path.segments[0].ident;
            let bare_self = first == "Self" && path.path.segments.len() == 1;
            let self_path = first == "Self" && !bare_self && path.path.leading_colon.is_none();
            if self_path || mentions_param(ty, generics) {
                Check::Generic
            } else {
                Check::Concrete
            }
        }
        // An opaque type is observed by its hidden type, as before.
        Type::ImplTrait(_) => Check::Concrete,
        // References, tuples, arrays, ...: generic if a type parameter of
        // the fn is inside (`&T`, `(T, u8)`).
        _ if mentions_param(ty, generics) => Check::Generic,
        _ => Check::Concrete,
    }
}

/// The body `#[async_trait]` writes: `Box::pin(async move { let __ret: R =
/// { body }; __ret })`.
fn async_trait(block: &Block) -> Option<Body> {
    let [Stmt::Expr(Expr::Call(call), None)] = block.stmts.as_slice() else {
        return None;
    };
    let Expr::Path(pin) = &*call.func else {
        return None;
    };
    let is_pin = pin
        .path
        .segments
        .last()
        .is_some_and(|last| last.ident == "pin")
        && pin
            .path
            .segments
            .iter()
            .any(|segment| segment.ident == "Box");
    let (true, Some(Expr::Async(future)), 1) = (is_pin, call.args.first(), call.args.len()) else {
        return None;
    };
    future.capture.as_ref()?;
    let (output, block) = future.block.stmts.iter().find_map(async_trait_ret)?;
    Some(Body::AsyncTrait {
        pin: Box::new(copy(&*call.func)),
        future: copy(future),
        output: Box::new(output),
        block: Box::new(block),
    })
}

/// Whether a type parameter of the fn appears anywhere in `ty` (`T`,
/// `Same<T>`, `Wrapper<T>`, `&T`): its `Fallible` impl, if any, depends on
/// the caller, so it cannot be decided by the type as written.
fn mentions_param(ty: &Type, generics: &Generics) -> bool {
    fn walk(tokens: TokenStream, params: &[&Ident]) -> bool {
        tokens.into_iter().any(|token| match token {
            proc_macro2::TokenTree::Ident(ident) => params.contains(&&ident),
            proc_macro2::TokenTree::Group(group) => walk(group.stream(), params),
            _ => false,
        })
    }
    // Types that are never an error whatever their parameters are (and
    // `Result` / `Poll`, which are `Fallible` for every parameter), so that
    // `Option<T>` or `Vec<T>` keep an `on_success` cleanup without a bound.
    const NEVER_HIDE_A_RESULT: &[&str] = &[
        "Option",
        "Result",
        "Poll",
        "Vec",
        "VecDeque",
        "String",
        "Box",
        "Rc",
        "Arc",
        "HashMap",
        "HashSet",
        "BTreeMap",
        "BTreeSet",
        "Cow",
        "PhantomData",
    ];
    match ty {
        Type::Tuple(_)
        | Type::Reference(_)
        | Type::Array(_)
        | Type::Slice(_)
        | Type::Ptr(_)
        | Type::BareFn(_)
        | Type::TraitObject(_)
        | Type::Never(_) => return false,
        Type::Path(path)
            if path.qself.is_none()
                && path.path.segments.last().is_some_and(|last| {
                    NEVER_HIDE_A_RESULT.iter().any(|name| last.ident == name)
                }) =>
        {
            return false;
        }
        _ => {}
    }
    let params: Vec<&Ident> = generics
        .type_params()
        .map(|param| &param.ident)
        .chain(generics.const_params().map(|param| &param.ident))
        .collect();
    !params.is_empty() && walk(ty.to_token_stream(), &params)
}

/// async-trait's `let __ret: R = { body };`: the return type and the body.
fn async_trait_ret(stmt: &Stmt) -> Option<(Type, Block)> {
    match stmt {
        Stmt::Local(syn::Local {
            pat: syn::Pat::Type(typed),
            init: Some(init),
            ..
        }) => match (&*typed.pat, &*init.expr) {
            (syn::Pat::Ident(name), Expr::Block(block)) if name.ident == "__ret" => {
                Some((copy(&*typed.ty), copy(&block.block)))
            }
            _ => None,
        },
        _ => None,
    }
}

fn mentions_ident(tokens: TokenStream, name: &str) -> bool {
    tokens.into_iter().any(|token| match token {
        proc_macro2::TokenTree::Ident(ident) => ident == name,
        proc_macro2::TokenTree::Group(group) => mentions_ident(group.stream(), name),
        _ => false,
    })
}

/// `let body = async { .. };`, as `#[tokio::main]` and `#[tokio::test]`
/// begin the bodies they rewrite.
fn rewritten_by_tokio(block: &Block) -> Option<&syn::Local> {
    // tokio's expansion also runs the block on a runtime it builds.
    if !mentions_ident(block.to_token_stream(), "block_on") {
        return None;
    }
    block.stmts.iter().find_map(|stmt| match stmt {
        Stmt::Local(local) => match (&local.pat, local.init.as_ref().map(|init| &*init.expr)) {
            (syn::Pat::Ident(name), Some(Expr::Async(_))) if name.ident == "body" => Some(local),
            _ => None,
        },
        _ => None,
    })
}

/// Step 3:
///
/// ```text
/// fn f(args) -> R {
///     let __exitstack_scope = ::exitstack::__private::ErrorWatch::new();
///     let __exitstack_ret = ::exitstack::__private::Ret::<R>::new();
///     ::exitstack::__private::call_once(&__exitstack_ret, || {
///         <the user's block, rewritten: every way out is an observed `Returned<R>`>
///     })
/// }
/// ```
///
/// An `async fn` runs its block as an `async` block instead, whose first
/// statement names its output type (a "fake return edge"); with async
/// cleanups, the implicit asynchronous stack awaits them after it:
///
/// ```text
/// async fn f(args) -> R {
///     let __exitstack_scope = ::exitstack::__private::ErrorWatch::new();
///     let __exitstack_ret = ::exitstack::__private::Ret::<R>::new();
///     let __exitstack_async = ::exitstack::__private::AsyncScope::send(); // with async cleanups
///     ::exitstack::__private::finish(
///         &__exitstack_ret,
///         __exitstack_async.run(&__exitstack_scope, async { // or `async { .. }.await`
///             if false {
///                 return returned(output(&__exitstack_ret));
///             }
///             <the user's block, rewritten>
///         })
///         .await,
///     )
/// }
/// ```
///
/// The signature is untouched, so generics, `impl Trait`, receivers and
/// other attributes are as written.
fn expand(
    args: &ScopeArgs,
    mut func: ItemFn,
    function: Function,
    errors: &mut Errors,
) -> TokenStream {
    let span = Span::mixed_site();
    let locals = locals(args, &function);
    let ty = function.output.as_deref().map_or_else(
        || quote_spanned!(func.sig.ident.span()=> ()),
        observe::nameable,
    );
    let mut block = match &function.body {
        Body::AsyncTrait { block, .. } => copy(&**block),
        Body::Sync | Body::Async => copy(&*func.block),
    };
    let returns = Returns {
        locals: &locals,
        shadowed: observe::shadows(&block, &ty),
        ty,
        check: function.check,
    };
    let is_async = !matches!(function.body, Body::Sync);
    Rewriter::new(&returns, args.krate.as_ref(), is_async, &block, errors)
        .visit_block_mut(&mut block);
    returns.value_block(&mut block);

    let Locals {
        krate,
        scope,
        ret,
        async_stack,
        ..
    } = &locals;
    let ty = &returns.ty;
    let declare = quote_spanned! {span=>
        let #scope = #krate::__private::ErrorWatch::new();
        let #ret = #krate::__private::Ret::<#ty>::new();
    };
    let (declare, finish) = fallible_slot(&locals, declare);
    let stmts = if is_async {
        let body = quote_spanned! {span=> async {
            if false {
                return #krate::__private::returned(#krate::__private::output(&#ret));
            }
            #block
        }};
        let value = if let Some(stack) = async_stack {
            {
                let new = Ident::new(
                    if args.not_send.is_some() {
                        "local"
                    } else {
                        "send"
                    },
                    span,
                );
                let new = if let Some((_, spawner)) = &args.spawn {
                    // Spanned on the spawner: a wrong one is reported
                    // there, against the public `with_spawner`.
                    let at = Span::mixed_site().located_at(spawner.span());
                    let with_spawner =
                        quote_spanned!(at=> #krate::SendAsyncExitStack::with_spawner(#spawner));
                    quote!(spawning(#with_spawner))
                } else {
                    quote!(#new())
                };
                let value = quote_spanned! {span=>
                    let #stack = #krate::__private::AsyncScope::#new;
                    #krate::__private::finish(&#ret, #stack.run(&#scope, #body).await)
                };
                match finish {
                    None => value,
                    // The stack, whose entries borrow the slot, is dropped
                    // before the slot is read.
                    Some((bind, finish)) => quote_spanned!(span=> #bind { #value } #finish),
                }
            }
        } else {
            let (bind, finish) = finish.unzip();
            quote_spanned!(span=> #bind #krate::__private::finish(&#ret, #krate::__private::until_done(&#scope, #body).await) #finish)
        };
        quote!(#declare #value)
    } else {
        let (bind, finish) = finish.unzip();
        quote_spanned! {span=>
            #declare
            #bind #krate::__private::call_once(&#ret, || #block) #finish
        }
    };
    let stmts = match function.body {
        Body::AsyncTrait {
            pin, mut future, ..
        } => {
            // async-trait's own statements before its `let __ret` move the
            // arguments into the future (`let __self = self;`, `let x = x;`,
            // `let (a, b) = __arg1;`): they stay, so that the body sees them
            // and they are dropped when the future is, as without us.
            let keep = future
                .block
                .stmts
                .iter()
                .position(|stmt| async_trait_ret(stmt).is_some())
                .unwrap_or(0);
            future.block.stmts.truncate(keep);
            future
                .block
                .stmts
                .push(Stmt::Expr(Expr::Verbatim(stmts), None));
            quote!(#pin(#future))
        }
        Body::Sync | Body::Async => stmts,
    };
    func.block.stmts = vec![Stmt::Expr(Expr::Verbatim(stmts), None)];
    func.into_token_stream()
}

/// The locals the expansion gives the function.
fn locals(args: &ScopeArgs, function: &Function) -> Locals {
    let span = Span::mixed_site();
    Locals {
        krate: args::crate_path(args.krate.as_ref()),
        scope: Ident::new("__exitstack_scope", span),
        ret: Ident::new("__exitstack_ret", span),
        async_stack: function
            .has_async_stack
            .then(|| Ident::new("__exitstack_async", span)),
        send: args.not_send.is_none(),
        spawning: args.spawn.is_some(),
        failed: Ident::new("__exitstack_failed", span),
        fallible: Cell::new(None),
        output: Output::of(function.output.as_deref()),
    }
}

/// With fallible cleanups in the body, their errors: the slot, declared
/// after `declare` (and before the async stack, whose entries borrow it),
/// and the two halves of `let value = <body>; ScopeResult::__finish(slot,
/// value)`, which combine it with the body's value.
fn fallible_slot(
    locals: &Locals,
    declare: TokenStream,
) -> (TokenStream, Option<(TokenStream, TokenStream)>) {
    let Some(at) = locals.fallible.get() else {
        return (declare, None);
    };
    let krate = &locals.krate;
    // Reported at the first fallible cleanup, once.
    let at = Span::mixed_site().located_at(at);
    let scope_result = crate::site::at(&quote!(#krate::ScopeResult), at);
    let mut ret = locals.ret.clone();
    ret.set_span(ret.span().located_at(at));
    let mut failed = locals.failed.clone();
    failed.set_span(failed.span().located_at(at));
    let value = Ident::new("__exitstack_value", at);
    (
        quote_spanned! {at=>
            #declare
            let #failed = #scope_result::__failed(&#ret);
        },
        Some((
            quote_spanned!(at=> let #value =),
            quote_spanned!(at=> ; #scope_result::__finish(#failed, #value)),
        )),
    )
}

/// A copy of a syntax tree, spans and all (the syntax tree types are not
/// `Clone` with the features this crate uses).
fn copy<T: syn::parse::Parse + ToTokens>(tree: &T) -> T {
    syn::parse2(tree.to_token_stream()).expect("printed syntax parses back")
}
