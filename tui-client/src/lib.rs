//! Denbun client library.
