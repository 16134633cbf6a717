//! Denbun client library.

pub mod keys;
pub mod outbox;
pub mod vault;
