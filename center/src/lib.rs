//! The Denbun settlement center: the server terminals connect to, the
//! registers and journal on sled, and the operator's commands.

#![forbid(unsafe_code)]

pub mod config;
pub mod storage;
