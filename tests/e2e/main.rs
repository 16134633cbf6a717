//! End-to-end tests.

mod center;
mod center_binary;
mod cli;
mod vault_crash;
