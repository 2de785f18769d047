//! How an `#[exitstack::scope]` function sees its `Err` returns: every value
//! that leaves the function (`return` operands, `?` operands, the tail
//! expression and the values flowing into it) is passed to
//! `::exitstack::__private::Observe`, which marks the scope when the value is
//! an `Err`, before the locals of the blocks it leaves are dropped.

use std::mem;

use proc_macro2::{Ident, Span, TokenStream};
use quote::quote_spanned;
use syn::visit_mut::{self, VisitMut};
use syn::{Arm, Block, Expr, ExprMatch, Item, Lifetime, Pat, PatIdent, Stmt, Token, token};

/// Wraps a value the function returns (`return` operand, tail): observed,
/// and passed on unchanged.
pub(crate) fn returned(expr: &mut Expr, scope: &Ident) {
    wrap(expr, scope, true);
}

/// Wraps the operand of `?`: `?` returns from the function exactly when it
/// is an error.
pub(crate) fn try_operand(expr: &mut Expr, scope: &Ident) {
    wrap(expr, scope, false);
}

/// ```text
/// match <expr> {
///     __exitstack_value => {
///         if false { return __exitstack_value; } // only for returned values
///         Observe(&__exitstack_value).__exitstack_observe(&__exitstack_scope);
///         __exitstack_value
///     }
/// }
/// ```
///
/// The observation picks its method by the value's type, which must be known
/// at that point: the "fake return edge" unifies it with the return type
/// first, for tails like `x.into()` whose type only the signature decides.
/// `match` keeps the temporaries of `<expr>` alive as long as before.
fn wrap(expr: &mut Expr, scope: &Ident, fake_return_edge: bool) {
    let span = Span::mixed_site();
    let value = Ident::new("__exitstack_value", span);
    let edge = fake_return_edge.then(|| quote_spanned!(span=> if false { return #value; }));
    let body: Block = syn::parse_quote_spanned! {span=> {
        #edge
        ::exitstack::__private::Observe(&#value).__exitstack_observe(&#scope);
        #value
    }};
    let inner = mem::replace(expr, Expr::Verbatim(TokenStream::new()));
    *expr = Expr::Match(ExprMatch {
        attrs: Vec::new(),
        match_token: Token![match](span),
        expr: Box::new(inner),
        brace_token: token::Brace(span),
        arms: vec![Arm {
            attrs: Vec::new(),
            pat: Pat::Ident(PatIdent {
                attrs: Vec::new(),
                by_ref: None,
                mutability: None,
                ident: value,
                subpat: None,
            }),
            guard: None,
            fat_arrow_token: Token![=>](span),
            body: Box::new(Expr::Block(syn::ExprBlock {
                attrs: Vec::new(),
                label: None,
                block: body,
            })),
            comma: None,
        }],
    });
}

/// Observes the tail expression of the function's block, going down into
/// the places its value comes from (blocks, `if`/`else`, `match` arms, the
/// `break` values of a `loop` or labeled block), so that it is observed
/// before the locals of those inner blocks are dropped.
pub(crate) fn tail(block: &mut Block, scope: &Ident) {
    if let Some(Stmt::Expr(expr, None)) = block.stmts.last_mut() {
        tail_expr(expr, scope);
    }
}

fn tail_expr(expr: &mut Expr, scope: &Ident) {
    match expr {
        Expr::Block(block) => {
            tail(&mut block.block, scope);
            if let Some(label) = &block.label {
                Breaks::labeled(&label.name, scope).visit_block_mut(&mut block.block);
            }
        }
        Expr::Unsafe(block) => tail(&mut block.block, scope),
        Expr::If(branches) => {
            tail(&mut branches.then_branch, scope);
            if let Some((_, otherwise)) = &mut branches.else_branch {
                tail_expr(otherwise, scope);
            }
        }
        Expr::Match(matching) => {
            for arm in &mut matching.arms {
                tail_expr(&mut arm.body, scope);
            }
        }
        Expr::Paren(paren) => tail_expr(&mut paren.expr, scope),
        Expr::Group(group) => tail_expr(&mut group.expr, scope),
        Expr::Loop(looping) => {
            let label = looping.label.as_ref().map(|label| &label.name);
            Breaks::of_loop(label, scope).visit_block_mut(&mut looping.body);
        }
        // Diverging (a `return` is observed where it is), or never a `Result`.
        Expr::Return(_)
        | Expr::Break(_)
        | Expr::Continue(_)
        | Expr::Closure(_)
        | Expr::Async(_)
        | Expr::Lit(_)
        | Expr::Assign(_)
        | Expr::While(_)
        | Expr::ForLoop(_)
        | Expr::Verbatim(_) => {}
        Expr::Tuple(tuple) if tuple.elems.is_empty() => {}
        Expr::Macro(mac) if is_diverging(&mac.mac.path) => {}
        _ => returned(expr, scope),
    }
}

fn is_diverging(path: &syn::Path) -> bool {
    path.segments.last().is_some_and(|last| {
        ["panic", "todo", "unimplemented", "unreachable"]
            .iter()
            .any(|name| last.ident == name)
    })
}

/// Finds the `break`s that leave a `loop` or labeled block with a value.
struct Breaks<'a> {
    label: Option<&'a Lifetime>,
    /// A `loop`: an unlabeled `break` outside inner loops is its own.
    is_loop: bool,
    /// How many inner loops the visitor is in.
    depth: usize,
    scope: &'a Ident,
}

impl<'a> Breaks<'a> {
    fn of_loop(label: Option<&'a Lifetime>, scope: &'a Ident) -> Self {
        Breaks {
            label,
            is_loop: true,
            depth: 0,
            scope,
        }
    }

    fn labeled(label: &'a Lifetime, scope: &'a Ident) -> Self {
        Breaks {
            label: Some(label),
            is_loop: false,
            depth: 0,
            scope,
        }
    }
}

impl VisitMut for Breaks<'_> {
    fn visit_expr_mut(&mut self, expr: &mut Expr) {
        match expr {
            // Their `break`s cannot leave them.
            Expr::Closure(_) | Expr::Async(_) | Expr::Const(_) | Expr::Verbatim(_) => {}
            Expr::Loop(_) | Expr::While(_) | Expr::ForLoop(_) => {
                self.depth += 1;
                visit_mut::visit_expr_mut(self, expr);
                self.depth -= 1;
            }
            Expr::Break(brk) => {
                visit_mut::visit_expr_break_mut(self, brk);
                let ours = match (&brk.label, self.label) {
                    (Some(label), Some(own)) => label.ident == own.ident,
                    (Some(_), None) => false,
                    (None, _) => self.is_loop && self.depth == 0,
                };
                if let (true, Some(value)) = (ours, &mut brk.expr) {
                    tail_expr(value, self.scope);
                }
            }
            _ => visit_mut::visit_expr_mut(self, expr),
        }
    }

    fn visit_item_mut(&mut self, _: &mut Item) {}
}
