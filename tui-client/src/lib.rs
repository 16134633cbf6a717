//! Denbun client library: what terminals, scripts, tests and the operator
//! console share — the line (frames and the Noise handshake over tokio),
//! sessions with the center, the key file and the outbox.

#![forbid(unsafe_code)]

pub mod catalog_file;
pub mod cli;
pub mod delivery;
pub mod demo;
pub mod keys;
pub mod line;
pub mod money;
pub mod outbox;
pub mod services;
pub mod session;
pub mod terminal;
pub mod vault;
