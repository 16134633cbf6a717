//! End-to-end tests.

mod abuse;
mod backup;
mod center;
mod center_binary;
mod cli;
mod console;
mod crash;
mod faults;
mod load;
mod money;
mod operator_binary;
mod terminal;
mod vault_crash;
