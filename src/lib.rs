//! Test and example harness for the exitstack workspace; the code is in tests/ and examples/.
