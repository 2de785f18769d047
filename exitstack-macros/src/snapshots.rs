//! Expansion snapshots, as pin-project's `tests/expand`: the output of
//! `#[exitstack::scope]` for each `expand/NAME.rs`, formatted, is checked
//! into `expand/NAME.expanded.rs`, so that a change to what the attribute
//! writes shows in review. `EXPAND=overwrite cargo test -p exitstack-macros
//! snapshots` regenerates them.

use std::fs;
use std::path::Path;

use proc_macro2::TokenStream;
use quote::ToTokens;

fn expand(source: &str) -> String {
    let mut func: syn::ItemFn = syn::parse_str(source).expect("the case parses");
    let attr = func.attrs.remove(0);
    let args = match attr.meta {
        syn::Meta::List(list) => list.tokens,
        _ => TokenStream::new(),
    };
    let tokens = crate::scope::attribute(args, func.into_token_stream())
        .unwrap_or_else(syn::Error::into_compile_error);
    let file: syn::File = syn::parse2(tokens).expect("the expansion parses");
    prettyplease::unparse(&file)
}

#[test]
fn snapshots() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("expand");
    let overwrite = std::env::var_os("EXPAND").is_some_and(|value| value == "overwrite");
    let mut cases: Vec<_> = fs::read_dir(&dir)
        .expect("expand/ exists")
        .map(|entry| entry.expect("readable").path())
        .filter(|path| {
            path.extension().is_some_and(|ext| ext == "rs")
                && !path.to_string_lossy().ends_with(".expanded.rs")
        })
        .collect();
    cases.sort();
    assert!(!cases.is_empty(), "no cases in expand/");
    let mut stale = Vec::new();
    for case in cases {
        let expanded = expand(&fs::read_to_string(&case).expect("readable"));
        let snapshot = case.with_extension("expanded.rs");
        if overwrite {
            fs::write(&snapshot, &expanded).expect("writable");
        } else if fs::read_to_string(&snapshot).ok().as_deref() != Some(expanded.as_str()) {
            stale.push(snapshot.display().to_string());
        }
    }
    assert!(
        stale.is_empty(),
        "expansions changed: {stale:?}; review, then regenerate with EXPAND=overwrite"
    );
}
