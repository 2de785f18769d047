//! Nothing but the tests in `tests/`: `exitstack` built with
//! `default-features = false, features = ["alloc"]`, driven by a test
//! harness that catches panics.
#![no_std]
