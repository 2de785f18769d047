//! The UI cases of `exitstack` (in `tests/`): no library code.
