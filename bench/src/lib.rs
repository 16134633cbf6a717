//! `denbun-bench`: the load generator for a Denbun center.
//!
//! It starts a center over a temporary data directory (as a child process,
//! or in this process) or targets a running one, registers terminals through
//! the protocol, and runs phases of closed-loop load on loopback: sign-on,
//! echo, payments, and a mixed load. Before the load it measures the
//! cryptographic bound of each operation on the same machine with the same
//! number of threads, and reports each phase's rate as a ratio of it.
//! `docs/performance.md` explains every figure.
//!
//! - [`terminal`]: a lean terminal (line, Noise transport, signature key);
//! - [`target`]: the center under load, its CPU time and memory;
//! - [`bound`]: the cost of the cryptography alone;
//! - [`phases`]: closed loops measured over a window;
//! - [`run`]: one run from start to audit; [`table`]: the scaling table;
//! - [`report`]: what is printed and written as JSON; [`measure`]: `/proc`.

pub mod bound;
pub mod measure;
pub mod phases;
pub mod report;
pub mod run;
pub mod table;
pub mod target;
pub mod terminal;
pub mod workload;
