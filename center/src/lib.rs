//! The Denbun settlement center: the server terminals connect to, the
//! registers and journal on sled, and the operator's commands.

#![forbid(unsafe_code)]

pub mod audit;
pub mod backup;
pub mod commands;
pub mod config;
pub mod console;
pub mod credit;
pub mod flows;
pub mod ledger;
pub mod mail;
pub mod operator;
pub mod server;
pub mod service;
pub mod storage;
