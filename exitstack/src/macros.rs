//! `macro_rules!` macros (owned by the macros work).
