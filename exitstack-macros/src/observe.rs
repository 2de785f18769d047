//! How an `#[exitstack::scope]` function sees every value it returns.
//!
//! The body runs as a closure (an `async` block in an `async fn`) whose
//! return type is the private `Returned<R>`. Every way out of it is
//! rewritten into an *observed* value: the value is bound to the declared
//! return type `R` (which keeps rustc's coercions and its errors on the
//! user's expression), the scope is marked if it is an error, and the
//! value is wrapped in `Returned`. This happens before the locals of the
//! blocks it leaves are dropped, so every cleanup sees the outcome.
//!
//! A `return` or `?` that is not rewritten — written inside a macro's own
//! definition, where the attribute cannot see it — returns an `R`, not a
//! `Returned<R>`, and does not type-check: nothing leaves unobserved.

use std::mem;

use proc_macro2::{Ident, Span, TokenStream};
use quote::{ToTokens, quote_spanned};
use syn::spanned::Spanned;
use syn::visit_mut::{self, VisitMut};
use syn::{Block, Expr, Item, Lifetime, Stmt, Type};

use crate::site::Locals;

/// How a returned value is checked for an error, decided by the return
/// type as written.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Check {
    /// `()`: never an error, nothing to check.
    Unit,
    /// A type the expansion can name (or a bare `Self`): its `Fallible`
    /// impl if it has one (autoderef specialization), else never an error —
    /// checked when returned, loudly, if it is a `Result` after all.
    Concrete,
    /// A type parameter of the fn or an associated type: whether it can be
    /// an error depends on the caller, so it must implement `Fallible`.
    Generic,
    /// A generic return type in a function none of whose cleanups depends
    /// on errors (only `always` and `on_panic` ones): nothing to observe,
    /// and no `Fallible` bound asked for.
    Unobserved,
}

/// The function's return type, as the body rewrite uses it.
pub(crate) struct Returns<'a> {
    pub(crate) locals: &'a Locals,
    /// The return type, `impl Trait` replaced by `_`: a type a `let` can
    /// be annotated with, spanned on the user's signature.
    pub(crate) ty: TokenStream,
    pub(crate) check: Check,
    /// Whether the body declares an item named like a part of the return
    /// type, which would shadow it inside the body: the type is then not
    /// named there, but taken from the `Ret<R>` declared outside.
    pub(crate) shadowed: bool,
}

impl Returns<'_> {
    /// A value the function returns (`return` operand, tail, `break` value
    /// of the tail), as an observed `Returned<R>`:
    ///
    /// ```text
    /// {
    ///     let __exitstack_value: R = <expr>;
    ///     #[allow(unreachable_code)] // <expr> may diverge
    ///     let __exitstack_returned = {
    ///         Observe(&__exitstack_value).__exitstack_observe(&__exitstack_scope);
    ///         returned(__exitstack_value)
    ///     };
    ///     __exitstack_returned
    /// }
    /// ```
    pub(crate) fn observed(&self, expr: &Expr) -> Expr {
        let at = Span::mixed_site().located_at(expr.span());
        let krate = &crate::site::at(&self.locals.krate, at);
        let mut scope = self.locals.scope.clone();
        scope.set_span(scope.span().located_at(at));
        let value = Ident::new("__exitstack_value", at);
        let returned = Ident::new("__exitstack_returned", at);
        let ty = &self.ty;
        let mut ret = self.locals.ret.clone();
        ret.set_span(ret.span().located_at(at));
        let bind = if self.shadowed {
            quote_spanned!(at=> let #value = #krate::__private::typed(&#ret, #expr);)
        } else {
            quote_spanned!(at=> let #value: #ty = #expr;)
        };
        let check = match self.check {
            Check::Unit | Check::Unobserved => None,
            Check::Concrete => Some(quote_spanned! {at=>
                #krate::__private::Observe(&#value).__exitstack_observe(&#scope);
            }),
            Check::Generic => Some(quote_spanned! {at=>
                #krate::Fallible::__exitstack_observe_generic(&#value, &#scope);
            }),
        };
        Expr::Verbatim(quote_spanned! {at=> {
            #bind
            #[allow(unreachable_code)]
            let #returned = {
                #check
                #krate::__private::returned(#value)
            };
            #returned
        }})
    }

    /// `<operand>?`, observed when it returns: the error is converted into
    /// the return type by the real `?`, applied to the residual.
    ///
    /// ```text
    /// match branch(<operand>) {
    ///     ControlFlow::Continue(__exitstack_value) => __exitstack_value,
    ///     ControlFlow::Break(__exitstack_residual) => return <observed>(
    ///         residual(&__exitstack_ret, move || match __exitstack_residual? {})
    ///     ),
    /// }
    /// ```
    pub(crate) fn try_expr(&self, operand: &Expr, question: Span) -> Expr {
        let question = syn::Token![?](question);
        let at = Span::mixed_site().located_at(operand.span());
        let krate = &crate::site::at(&self.locals.krate, at);
        let value = Ident::new("__exitstack_value", at);
        let residual = Ident::new("__exitstack_residual", at);
        let mut ret = self.locals.ret.clone();
        ret.set_span(ret.span().located_at(at));
        let converted: Expr = Expr::Verbatim(quote_spanned! {at=>
            #krate::__private::residual(&#ret, move || match #residual #question {})
        });
        let returned = self.observed(&converted);
        Expr::Verbatim(quote_spanned! {at=>
            match #krate::__private::branch(#operand) {
                ::core::ops::ControlFlow::Continue(#value) => #value,
                ::core::ops::ControlFlow::Break(#residual) => return #returned,
            }
        })
    }

    /// A block whose value the function returns (its own block, a branch
    /// of its tail): the tail, and the values flowing into it, are
    /// observed. A block without a tail that does not end by leaving is
    /// observed as a whole (its value is `()`).
    pub(crate) fn value_block(&self, block: &mut Block) {
        if !self.block_tail(block) && !ends_diverging(block) {
            wrap_block(block, self);
        }
    }

    /// Observes the tail of an inner block, going down into the places its
    /// value comes from. `false` if it has no tail expression.
    fn block_tail(&self, block: &mut Block) -> bool {
        // A brace-delimited macro call at the end of a block is its value
        // when the function returns one.
        let brace_macro_tail = matches!(
            block.stmts.last(),
            Some(Stmt::Macro(mac)) if mac.semi_token.is_none()
        );
        if brace_macro_tail && self.check != Check::Unit {
            let Some(Stmt::Macro(mac)) = block.stmts.pop() else {
                unreachable!("matched above")
            };
            block.stmts.push(Stmt::Expr(
                Expr::Macro(syn::ExprMacro {
                    attrs: mac.attrs,
                    mac: mac.mac,
                }),
                None,
            ));
        }
        match block.stmts.last_mut() {
            Some(Stmt::Expr(expr, None)) => {
                self.tail_expr(expr);
                true
            }
            _ => false,
        }
    }

    /// Observes `expr`, a value the function returns, at the places its
    /// value comes from, so that it is observed before the locals of the
    /// inner blocks it leaves are dropped.
    pub(crate) fn tail_expr(&self, expr: &mut Expr) {
        match expr {
            Expr::Block(block) => {
                // The `break`s first: observing the tail may move it.
                if let Some(label) = &block.label {
                    let label = label.name.clone();
                    Breaks::labeled(&label, self).visit_block_mut(&mut block.block);
                }
                self.value_block(&mut block.block);
            }
            Expr::Unsafe(block) => self.value_block(&mut block.block),
            Expr::If(branches) if branches.else_branch.is_some() => {
                self.value_block(&mut branches.then_branch);
                if let Some((_, otherwise)) = &mut branches.else_branch {
                    self.tail_expr(otherwise);
                }
            }
            Expr::Match(matching) => {
                for arm in &mut matching.arms {
                    self.tail_expr(&mut arm.body);
                }
            }
            Expr::Paren(paren) => self.tail_expr(&mut paren.expr),
            Expr::Group(group) => self.tail_expr(&mut group.expr),
            Expr::Loop(looping) => {
                let label = looping.label.as_ref().map(|label| label.name.clone());
                Breaks::of_loop(label.as_ref(), self).visit_block_mut(&mut looping.body);
            }
            // Diverging: a `return` is observed where it is, a `break` or
            // `continue` leaves an inner loop.
            Expr::Return(_) | Expr::Break(_) | Expr::Continue(_) => {}
            Expr::Macro(mac) if is_diverging(&mac.mac.path) => {}
            _ => {
                let inner = mem::replace(expr, Expr::Verbatim(TokenStream::new()));
                *expr = self.observed(&inner);
            }
        }
    }
}

/// A block with no tail expression, in a place that needs a value: the
/// whole block is the value (it is `()` or diverges).
fn wrap_block(block: &mut Block, returns: &Returns<'_>) {
    let inner = Expr::Block(syn::ExprBlock {
        attrs: Vec::new(),
        label: None,
        block: Block {
            brace_token: syn::token::Brace(block.brace_token.span),
            stmts: mem::take(&mut block.stmts),
        },
    });
    block.stmts.push(Stmt::Expr(returns.observed(&inner), None));
}

/// Whether the block ends with a statement that leaves it (`return`,
/// `break`, `continue`, `panic!`, ...), so it needs no `()` tail.
fn ends_diverging(block: &Block) -> bool {
    match block.stmts.last() {
        Some(Stmt::Expr(expr, Some(_))) => match expr {
            Expr::Return(_) | Expr::Break(_) | Expr::Continue(_) => true,
            Expr::Macro(mac) => is_diverging(&mac.mac.path),
            _ => false,
        },
        Some(Stmt::Macro(mac)) => is_diverging(&mac.mac.path),
        _ => false,
    }
}

fn is_diverging(path: &syn::Path) -> bool {
    path.segments.last().is_some_and(|last| {
        ["panic", "todo", "unimplemented", "unreachable"]
            .iter()
            .any(|name| last.ident == name)
    })
}

/// The return type as a `let` can name it: `impl Trait` is left to
/// inference (`_`), the rest is as written, on the user's tokens.
pub(crate) fn nameable(ty: &Type) -> TokenStream {
    struct Infer;
    impl VisitMut for Infer {
        fn visit_type_mut(&mut self, ty: &mut Type) {
            if let Type::ImplTrait(opaque) = ty {
                let span = opaque.impl_token.span;
                *ty = Type::Infer(syn::TypeInfer {
                    underscore_token: syn::Token![_](span),
                });
            } else {
                visit_mut::visit_type_mut(self, ty);
            }
        }
    }
    let mut ty: Type = syn::parse2(ty.to_token_stream()).expect("printed syntax parses back");
    Infer.visit_type_mut(&mut ty);
    ty.into_token_stream()
}

/// Finds the `break`s that leave a `loop` or labeled block with a value,
/// following the scopes of labels, not their names: an inner loop or block
/// with the same label shadows it.
struct Breaks<'a> {
    label: Option<&'a Lifetime>,
    /// A `loop`: an unlabeled `break` outside inner loops is its own.
    is_loop: bool,
    /// How many inner loops the visitor is in.
    depth: usize,
    /// How many inner loops or blocks with the same label it is in.
    shadowed: usize,
    returns: &'a Returns<'a>,
}

impl<'a> Breaks<'a> {
    fn of_loop(label: Option<&'a Lifetime>, returns: &'a Returns<'a>) -> Self {
        Breaks {
            label,
            is_loop: true,
            depth: 0,
            shadowed: 0,
            returns,
        }
    }

    fn labeled(label: &'a Lifetime, returns: &'a Returns<'a>) -> Self {
        Breaks {
            label: Some(label),
            is_loop: false,
            depth: 0,
            shadowed: 0,
            returns,
        }
    }

    fn shadows(&self, label: Option<&syn::Label>) -> bool {
        matches!((label, self.label), (Some(inner), Some(own)) if inner.name.ident == own.ident)
    }
}

impl VisitMut for Breaks<'_> {
    fn visit_expr_mut(&mut self, expr: &mut Expr) {
        match expr {
            // Their `break`s cannot leave them.
            Expr::Closure(_) | Expr::Async(_) | Expr::Const(_) | Expr::Verbatim(_) => {}
            Expr::Loop(_) | Expr::While(_) | Expr::ForLoop(_) | Expr::Block(_) => {
                let label = match expr {
                    Expr::Loop(inner) => inner.label.as_ref(),
                    Expr::While(inner) => inner.label.as_ref(),
                    Expr::ForLoop(inner) => inner.label.as_ref(),
                    Expr::Block(inner) => inner.label.as_ref(),
                    _ => unreachable!("matched above"),
                };
                let shadows = usize::from(self.shadows(label));
                let is_loop = usize::from(!matches!(expr, Expr::Block(_)));
                self.shadowed += shadows;
                self.depth += is_loop;
                visit_mut::visit_expr_mut(self, expr);
                self.shadowed -= shadows;
                self.depth -= is_loop;
            }
            Expr::Break(brk) => {
                visit_mut::visit_expr_break_mut(self, brk);
                let ours = match (&brk.label, self.label) {
                    (Some(label), Some(own)) => label.ident == own.ident && self.shadowed == 0,
                    (Some(_), None) => false,
                    (None, _) => self.is_loop && self.depth == 0,
                };
                if ours {
                    if let Some(value) = &mut brk.expr {
                        self.returns.tail_expr(value);
                    } else {
                        let span = Span::mixed_site().located_at(brk.break_token.span);
                        let unit = Expr::Verbatim(quote_spanned!(span=> ()));
                        brk.expr = Some(Box::new(self.returns.observed(&unit)));
                    }
                }
            }
            _ => visit_mut::visit_expr_mut(self, expr),
        }
    }

    fn visit_item_mut(&mut self, _: &mut Item) {}
}

/// Whether `block` declares an item (at any depth) named like an
/// identifier of `ty`.
pub(crate) fn shadows(block: &Block, ty: &TokenStream) -> bool {
    struct Items(Vec<Ident>);
    impl VisitMut for Items {
        fn visit_item_mut(&mut self, item: &mut Item) {
            let ident = match item {
                Item::Struct(item) => Some(&item.ident),
                Item::Enum(item) => Some(&item.ident),
                Item::Union(item) => Some(&item.ident),
                Item::Type(item) => Some(&item.ident),
                Item::Trait(item) => Some(&item.ident),
                Item::Mod(item) => Some(&item.ident),
                Item::Use(item) => {
                    // Conservative: every identifier of the `use`.
                    let tokens = item.tree.to_token_stream();
                    self.0.extend(idents(tokens));
                    None
                }
                _ => None,
            };
            self.0.extend(ident.cloned());
        }
    }
    fn idents(tokens: TokenStream) -> Vec<Ident> {
        tokens
            .into_iter()
            .flat_map(|token| match token {
                proc_macro2::TokenTree::Ident(ident) => vec![ident],
                proc_macro2::TokenTree::Group(group) => idents(group.stream()),
                _ => Vec::new(),
            })
            .collect()
    }
    let mut block: Block =
        syn::parse2(block.to_token_stream()).expect("printed syntax parses back");
    let mut items = Items(Vec::new());
    items.visit_block_mut(&mut block);
    let in_ty = idents(ty.clone());
    items.0.iter().any(|item| in_ty.contains(item))
}
