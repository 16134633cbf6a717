//! Families 80 to 84: network management and the mailbox.
//!
//! ```text
//! terminal                               center
//!   | -- Noise NK handshake (session.rs) -- |
//!   | 8000 sign-on (signs the handshake hash) --> | opens mailbox and private queries
//!   | <-- 8010 sign-on answer (mailbox count, center time)
//!   | 8300 mailbox fetch (max) -->                |
//!   | <-- xx40 notice, processing number = mailbox sequence 17
//!   | <-- xx40 notice, sequence 18
//!   | <-- 8310 mailbox fetch answer (delivered 2, remaining 0)
//!   | 8400 mailbox acknowledgement (up to 18) --> |
//!   | <-- 8410 (removed 2)
//!   | 8100 echo <-->  8110 echo answer            (either side, when idle)
//!   | 8200 sign-off --> | <-- 8210 sign-off answer; the session closes
//! ```
//!
//! Notices that arrive while a terminal is signed on are pushed at once;
//! they stay in the mailbox until acknowledged, so a dropped line loses none.

use crate::limits::{MAILBOX_BATCH_MAX, SOFTWARE_VERSION_BYTES_MAX};
use crate::wire::Text;

body_struct! {
    /// `8000`: signs on. Its signature also covers the session's Noise
    /// handshake hash, so it cannot be replayed into another session.
    pub struct SignOn {
        /// The terminal's software and version, e.g. `denbun 0.1.0`.
        pub software_version: Text<SOFTWARE_VERSION_BYTES_MAX>,
    }
}

body_struct! {
    /// `8010`: signed on.
    pub struct SignOnAnswer {
        /// Notices waiting in the mailbox.
        pub mailbox_count: u32,
        /// The center's clock, unix milliseconds (terminals may show the skew).
        pub center_time_ms: u64,
    }
}

body_struct! {
    /// `8100`: are you there? (empty body)
    pub struct Echo {}
}

body_struct! {
    /// `8110`: here. (empty body)
    pub struct EchoAnswer {}
}

body_struct! {
    /// `8200`: ends the signed-on state (empty body).
    pub struct SignOff {}
}

body_struct! {
    /// `8210`: signed off; the center closes the session after sending it (empty body).
    pub struct SignOffAnswer {}
}

body_struct! {
    sample: manual;
    /// `8300`: send up to `max_notices` waiting notices, oldest first.
    pub struct MailboxFetch {
        /// `1..=MAILBOX_BATCH_MAX`.
        pub max_notices: u16,
    }
}

impl MailboxFetch {
    pub(crate) fn check(&self) -> Result<(), &'static str> {
        if self.max_notices >= 1 && usize::from(self.max_notices) <= MAILBOX_BATCH_MAX {
            Ok(())
        } else {
            Err("max notices must be 1..=MAILBOX_BATCH_MAX")
        }
    }
}

body_struct! {
    /// `8310`: sent after the notices the fetch delivered.
    pub struct MailboxFetchAnswer {
        /// Notices sent just before this answer.
        pub delivered: u16,
        /// Notices still waiting after them.
        pub remaining: u32,
    }
}

body_struct! {
    /// `8400`: the terminal has stored every notice up to this sequence number.
    pub struct MailboxAck {
        /// The highest mailbox sequence number (a notice's processing number) kept.
        pub up_to_sequence: u64,
    }
}

body_struct! {
    /// `8410`: acknowledged notices are removed.
    pub struct MailboxAckAnswer {
        /// Notices removed.
        pub removed: u32,
        /// Notices still waiting.
        pub remaining: u32,
    }
}
