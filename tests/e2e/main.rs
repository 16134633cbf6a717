//! End-to-end tests.

mod vault_crash;
