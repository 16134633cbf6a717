//! End-to-end tests.

mod center;
mod center_binary;
mod vault_crash;
