//! The records the center keeps, with their canonical encodings (the same
//! wire primitives as telegrams, so a damaged record is a decode error, never
//! a wrong value).

use denbun_protocol::header::PartyId;
use denbun_protocol::limits::{
    ADDRESS_BYTES_MAX, MESSAGE_BYTES_MAX, NAME_BYTES_MAX, TELEGRAM_BYTES_MAX, TRADE_NAME_BYTES_MAX,
};
use denbun_protocol::telegram::registration::ActivationCode;
use denbun_protocol::wire::{Blob, Date, Text, Wire};
use denbun_protocol::{wire_enum, wire_struct};
use sha2::{Digest, Sha256};

/// Bytes of an encoded payout bank account kept in the register.
pub const BANK_ACCOUNT_BYTES_MAX: usize = 256;

wire_enum! {
    /// Where a member or store stands.
    pub enum PartyStatus {
        /// Applied; waiting for the registration telegram with the activation code.
        Applied = 1,
        /// Registered: its verification key is in the register.
        Registered = 2,
        /// Frozen by an operator: business telegrams are refused.
        Frozen = 3,
        /// Closed (unused balance refunded); nothing more is accepted.
        Closed = 4,
    }
}

wire_struct! {
    /// The one-time activation code of an application, kept only as a digest.
    pub struct Activation {
        /// SHA-256 over the party id and the code (see [`activation_digest`]).
        pub code_digest: [u8; 32],
        /// When the code stops working.
        pub expires_at_ms: u64,
        /// Wrong codes still allowed before the application is locked.
        pub attempts_left: u8,
    }
}

/// The digest under which an activation code is kept: the register never
/// holds the code itself.
pub fn activation_digest(party: PartyId, code: &str) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(b"denbun activation code v1");
    hasher.update(denbun_protocol::wire::encode_to_vec(&party));
    hasher.update(code.as_bytes());
    hasher.finalize().into()
}

wire_struct! {
    /// A member's, store's or operator's entry in the register.
    pub struct PartyRecord {
        /// Membership, store or operator number.
        pub party: PartyId,
        /// Where it stands.
        pub status: PartyStatus,
        /// Personal name (a store: the clerk responsible).
        pub name: Text<NAME_BYTES_MAX>,
        /// Postal address (where letters go).
        pub address: Text<ADDRESS_BYTES_MAX>,
        /// A member's date of birth.
        pub date_of_birth: Option<Date>,
        /// A store's trade name.
        pub trade_name: Option<Text<TRADE_NAME_BYTES_MAX>>,
        /// A store's payout bank account, in its protocol encoding (empty when none).
        pub bank_account: Blob<BANK_ACCOUNT_BYTES_MAX>,
        /// Ed25519 verification key, once registered.
        pub verification_key: Option<[u8; 32]>,
        /// X25519 key that digital goods are sealed to, once registered.
        pub delivery_key: Option<[u8; 32]>,
        /// The pending activation code, until registration uses it.
        pub activation: Option<Activation>,
        /// When the application arrived.
        pub applied_at_ms: u64,
        /// When registration completed (0 until then).
        pub registered_at_ms: u64,
    }
}

wire_enum! {
    /// Numbers the center hands out.
    pub enum Counter {
        /// Last membership number assigned.
        LastMember = 1,
        /// Last store number assigned.
        LastStore = 2,
        /// Last letter id.
        LastLetter = 3,
        /// Last notice sequence (one sequence for all mailboxes, so notices order globally).
        LastNotice = 4,
        /// Last prepaid card number.
        LastCard = 5,
        /// Last funding request number (transfer references encode it).
        LastFunding = 6,
        /// Last posting sequence of the ledger.
        LastPosting = 7,
        /// Last payment claim number.
        LastClaim = 8,
        /// Last payout batch number.
        LastBatch = 9,
        /// Last payout number (one per store per batch).
        LastPayout = 10,
        /// Last balance refund number.
        LastBalanceRefund = 11,
    }
}

wire_struct! {
    /// What the center answered to one (sender, processing number).
    pub struct IdempotencyRecord {
        /// Digest of the request's signed content (repeat flag cleared).
        pub request_digest: [u8; 32],
        /// The request's telegram code (base, without the repeat digit).
        pub request_code: u16,
        /// The signed answer, byte for byte, sent again for a repeat.
        pub answer: Blob<TELEGRAM_BYTES_MAX>,
        /// Journal sequence of the request.
        pub journal_sequence: u64,
    }
}

wire_enum! {
    /// Which way a journaled telegram went.
    pub enum JournalDirection {
        /// From a terminal to the center.
        In = 1,
        /// From the center to a terminal.
        Out = 2,
    }
}

wire_struct! {
    /// Fields of a journaled telegram kept beside it for queries; zero where
    /// the telegram did not decode.
    pub struct JournalSummary {
        /// Sender of the telegram.
        pub sender: PartyId,
        /// Recipient of the telegram.
        pub recipient: PartyId,
        /// Telegram code (with its repeat digit).
        pub code: u16,
        /// Result code (a reject's reason).
        pub result: u16,
        /// Processing number.
        pub processing_number: u64,
    }
}

wire_struct! {
    /// One telegram in or out, as evidence. Entries form a hash chain.
    pub struct JournalEntry {
        /// Position in the journal, from 1.
        pub sequence: u64,
        /// Hash of the previous entry (zero for the first).
        pub previous_hash: [u8; 32],
        /// When the center recorded it.
        pub recorded_at_ms: u64,
        /// In or out.
        pub direction: JournalDirection,
        /// The session it travelled in (0 when none).
        pub session: u64,
        /// The session's Noise handshake hash (zero when none): a sign-on's
        /// signature covers it, so the audit can verify sign-ons too.
        pub handshake_hash: [u8; 32],
        /// Peer address, as text.
        pub peer: Text<MESSAGE_BYTES_MAX>,
        /// Decoded fields for queries.
        pub summary: JournalSummary,
        /// Whether the telegram decoded (a refused, malformed input is kept too).
        pub decoded: bool,
        /// In: the center verified its signature and acted on it. Out: signed by the center.
        pub verified: bool,
        /// Out: the sequence of the entry this answers (0 for notices and probes).
        pub in_reply_to: u64,
        /// The telegram exactly as it travelled, signature included.
        pub telegram: Blob<TELEGRAM_BYTES_MAX>,
    }
}

impl JournalEntry {
    /// This entry's link in the chain: SHA-256 over a domain tag and its encoding.
    pub fn hash(&self) -> [u8; 32] {
        let mut hasher = Sha256::new();
        hasher.update(b"denbun journal v1");
        hasher.update(denbun_protocol::wire::encode_to_vec(self));
        hasher.finalize().into()
    }
}

wire_struct! {
    /// The journal's newest entry.
    pub struct JournalHead {
        /// Its sequence (0: empty journal).
        pub sequence: u64,
        /// Its hash (zero: empty journal).
        pub hash: [u8; 32],
    }
}

wire_struct! {
    /// A notice waiting in a recipient's mailbox until acknowledged.
    pub struct MailboxNotice {
        /// Whose mailbox.
        pub recipient: PartyId,
        /// Its sequence (the notice's processing number).
        pub sequence: u64,
        /// The signed notice telegram.
        pub telegram: Blob<TELEGRAM_BYTES_MAX>,
    }
}

wire_struct! {
    /// A letter for the post: activation codes travel out of band. The code
    /// is kept here until the letter is printed; the console and `mail show`
    /// are the only places that show it.
    pub struct LetterRecord {
        /// Letter id, from 1.
        pub id: u64,
        /// Who it is for.
        pub recipient: PartyId,
        /// Name on the envelope.
        pub name: Text<NAME_BYTES_MAX>,
        /// Address on the envelope.
        pub address: Text<ADDRESS_BYTES_MAX>,
        /// The one-time code (redacted by `Debug`).
        pub activation_code: ActivationCode,
        /// When the code stops working.
        pub expires_at_ms: u64,
        /// When it was written.
        pub created_at_ms: u64,
        /// When an operator marked it printed.
        pub printed_at_ms: Option<u64>,
    }
}

wire_struct! {
    /// Telegrams journaled in one UTC hour (kept by the storage engine as it
    /// commits journal entries; reports add them up by business day).
    pub struct TelegramHour {
        /// Hours since the unix epoch.
        pub hour: u64,
        /// Telegrams received.
        pub telegrams_in: u64,
        /// Telegrams sent.
        pub telegrams_out: u64,
    }
}

/// Milliseconds in an hour, for [`TelegramHour`].
pub const HOUR_MS: u64 = 3_600_000;

/// Encodes a record for storage.
pub fn encode<T: Wire>(record: &T) -> Vec<u8> {
    denbun_protocol::wire::encode_to_vec(record)
}
