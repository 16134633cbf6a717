//! Denbun protocol core: frames, telegrams, signatures, Noise NK sessions and
//! the key-file layout.
//!
//! This crate performs no I/O: it never opens a socket or a file, never reads
//! the clock and never draws its own randomness. Callers hand in bytes, the
//! time (unix milliseconds) and an RNG; the core answers with bytes or an
//! error. The tokio-util `Decoder`/`Encoder` in [`codec`] is a thin layer on
//! top, behind the `codec` feature.

#![forbid(unsafe_code)]

#[cfg(feature = "codec")]
pub mod codec;
pub mod frame;
pub mod header;
pub mod identity;
pub mod keyfile;
pub mod limits;
pub mod reject;
pub mod session;
pub mod sign;
pub mod telegram;
pub mod wire;
