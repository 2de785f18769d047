//! Test and example harness for the exitstack workspace; the code is in tests/, benches/ and
//! examples/ (the one example that needs tokio; the others are in exitstack/examples/).
