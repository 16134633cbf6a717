//! Denbun client library: what terminals, scripts, tests and the operator
//! console share — the line (frames and the Noise handshake over tokio),
//! sessions with the center, the key file and the outbox.

#![forbid(unsafe_code)]

pub mod cli;
pub mod keys;
pub mod line;
pub mod outbox;
pub mod session;
pub mod vault;
