//! End-to-end tests.

mod abuse;
mod center;
mod center_binary;
mod crash;
mod cli;
mod vault_crash;
