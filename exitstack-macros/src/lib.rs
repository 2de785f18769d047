//! Procedural macros for [`exitstack`](https://docs.rs/exitstack). Not for direct use:
//! depend on `exitstack`, which re-exports them.

use proc_macro::TokenStream;

/// See `exitstack::cleanup`.
#[proc_macro_attribute]
pub fn cleanup(_args: TokenStream, item: TokenStream) -> TokenStream {
    item
}

/// See `exitstack::scope`.
#[proc_macro_attribute]
pub fn scope(_args: TokenStream, item: TokenStream) -> TokenStream {
    item
}
