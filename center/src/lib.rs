//! Denbun center.
