//! Every size and count the protocol allows, in one place.
//!
//! Relationships between limits are checked at compile time, so changing one
//! number cannot silently break another (TigerBeetle's style). Units and
//! qualifiers go last in names: `frame_bytes_max`, `amount_yen_max`.

/// Bytes of the big-endian length prefix in front of every frame.
pub const FRAME_PREFIX_BYTES: usize = 2;
/// Largest frame payload: the Noise message limit, and what a u16 prefix holds.
pub const FRAME_BYTES_MAX: usize = 65_535;
/// ChaCha20-Poly1305 tag that every Noise transport message carries.
pub const NOISE_TAG_BYTES: usize = 16;
/// Largest telegram (the plaintext of one Noise transport message).
pub const TELEGRAM_BYTES_MAX: usize = FRAME_BYTES_MAX - NOISE_TAG_BYTES;

/// Fixed telegram header (see `header.rs` and docs/protocol.md).
pub const HEADER_BYTES: usize = 41;
/// Ed25519 signature trailer on every telegram.
pub const SIGNATURE_BYTES: usize = 64;
/// Largest telegram body.
pub const BODY_BYTES_MAX: usize = TELEGRAM_BYTES_MAX - HEADER_BYTES - SIGNATURE_BYTES;

/// Noise NK handshake: `-> e, es` and `<- e, ee`, each with an empty payload.
pub const HANDSHAKE_REQUEST_BYTES: usize = 32 + NOISE_TAG_BYTES;
pub const HANDSHAKE_RESPONSE_BYTES: usize = 32 + NOISE_TAG_BYTES;
/// X25519 public key (the center's static Noise key, and each ephemeral key).
pub const NOISE_PUBLIC_KEY_BYTES: usize = 32;
/// X25519 secret key.
pub const NOISE_SECRET_KEY_BYTES: usize = 32;
/// Noise handshake hash with BLAKE2s; the sign-on telegram signs it.
pub const HANDSHAKE_HASH_BYTES: usize = 32;

/// Money. Integer yen; one trillion yen is far above any single card, payment
/// or payout, and far below u64 overflow when thousands are summed.
pub const AMOUNT_YEN_MAX: u64 = 1_000_000_000_000;

/// Digital goods travel in chunks of at most this many bytes.
pub const DELIVERY_CHUNK_BYTES_MAX: usize = 32 * 1024;
/// Largest digital item (default; the center's config may lower it).
pub const DELIVERY_BYTES_MAX: u64 = 16 * 1024 * 1024;

/// Text fields (bytes of UTF-8).
pub const NAME_BYTES_MAX: usize = 64;
pub const ADDRESS_BYTES_MAX: usize = 160;
pub const TRADE_NAME_BYTES_MAX: usize = 64;
pub const ITEM_TITLE_BYTES_MAX: usize = 80;
pub const ITEM_DESCRIPTION_BYTES_MAX: usize = 1_024;
pub const MESSAGE_BYTES_MAX: usize = 256;
pub const GUIDE_TEXT_BYTES_MAX: usize = 16 * 1024;
pub const ACTIVATION_CODE_BYTES_MAX: usize = 16;
pub const REFERENCE_BYTES_MAX: usize = 32;
pub const SEARCH_TEXT_BYTES_MAX: usize = 64;
pub const TRACKING_BYTES_MAX: usize = 128;

/// Lists.
pub const ORDER_LINES_MAX: usize = 32;
pub const CATALOG_ITEMS_MAX: usize = 1_000;
pub const CATALOG_PAGE_ITEMS_MAX: usize = 20;
pub const STORE_LIST_MAX: usize = 50;
pub const STATEMENT_LINES_MAX: usize = 100;
pub const CLAIM_ORDERS_MAX: usize = 200;
pub const MAILBOX_BATCH_MAX: usize = 64;
pub const QUERY_ROWS_MAX: usize = 100;
pub const JOURNAL_ROWS_MAX: usize = 50;

/// Telegram catalog (header.rs, telegram/, sign.rs).
///
/// Members, stores and operators are numbered 1..=PARTY_NUMBER_MAX: eight
/// decimal digits, shown as `M00000123`, `S00000007`, `O001`.
pub const PARTY_NUMBER_MAX: u64 = 99_999_999;
/// Telegram codes are four decimal digits.
pub const TELEGRAM_CODE_MAX: u16 = 9_999;
/// Purpose tag in front of every signed message: `D`, `B`, base code u16.
pub const PURPOSE_TAG_BYTES: usize = 4;
/// SHA-256 of the center's Ed25519 verification key.
pub const CENTER_FINGERPRINT_BYTES: usize = 32;
/// Bytes of the fingerprint shown to people (16 base32 characters).
pub const CENTER_FINGERPRINT_SHORT_BYTES: usize = 10;
/// SHA-256 digests (content hashes, telegram digests).
pub const SHA256_BYTES: usize = 32;
/// Ed25519 verification key and X25519 delivery key.
pub const PUBLIC_KEY_BYTES: usize = 32;
/// Terminal software version text in the sign-on telegram.
pub const SOFTWARE_VERSION_BYTES_MAX: usize = 32;
/// Bank account holder name (Zengin allows 30 characters; UTF-8 takes up to 3 bytes each).
pub const ACCOUNT_HOLDER_BYTES_MAX: usize = 90;
/// Carrier name on a shipment.
pub const CARRIER_BYTES_MAX: usize = 64;
/// Catalog items in one catalog publish telegram (50 maximal items fit in one body).
pub const CATALOG_PUBLISH_ITEMS_MAX: usize = 50;
/// Parts a catalog version of CATALOG_ITEMS_MAX items is published in.
pub const CATALOG_PARTS_MAX: usize = CATALOG_ITEMS_MAX.div_ceil(CATALOG_PUBLISH_ITEMS_MAX);
/// Sealed delivery: the ChaCha20-Poly1305 tag after each sealed chunk.
pub const DELIVERY_SEAL_TAG_BYTES: usize = 16;
/// Plaintext bytes sealed into each full delivery chunk (the last may hold fewer).
pub const DELIVERY_PLAINTEXT_CHUNK_BYTES: usize = DELIVERY_CHUNK_BYTES_MAX - DELIVERY_SEAL_TAG_BYTES;
/// Bank transfer file bytes in one payout export answer.
pub const EXPORT_CHUNK_BYTES_MAX: usize = 32 * 1024;
/// Days in one statistics report.
pub const REPORT_DAYS_MAX: usize = 31;
/// Stores listed by sales in one report.
pub const REPORT_STORES_MAX: usize = 100;
/// Findings in one audit answer.
pub const AUDIT_FINDINGS_MAX: usize = 32;
/// Letters in one mail queue answer.
pub const MAIL_LETTERS_MAX: usize = 20;
/// Payout claims approved into one batch by one telegram.
pub const PAYOUT_BATCH_CLAIMS_MAX: usize = 200;
/// Seconds of per-second telegram counts in one live figures answer (the
/// console's sparklines: one minute).
pub const LIVE_SECONDS_MAX: usize = 60;
/// Telegram classes counted in the live figures.
pub const TELEGRAM_CLASSES_MAX: usize = 16;
/// Bytes of a journaled telegram in one journal entry answer (a telegram
/// larger than this comes in pieces).
pub const JOURNAL_PIECE_BYTES_MAX: usize = 32 * 1024;

/// Key file: scrypt log_n accepted on reading (checked before running scrypt).
pub const KEYFILE_LOG_N_MIN: u8 = 15;
pub const KEYFILE_LOG_N_MAX: u8 = 20;
pub const KEYFILE_LOG_N_DEFAULT: u8 = 17;
pub const KEYFILE_BYTES_MAX: usize = 64 * 1024 * 1024;
/// Key file: scrypt r and p accepted on reading, and the defaults written.
/// With r at most 8 and log_n at most 20, a hostile file makes scrypt allocate
/// at most 1 GiB (128 * r * 2^log_n bytes).
pub const KEYFILE_SCRYPT_R_MIN: u32 = 1;
pub const KEYFILE_SCRYPT_R_MAX: u32 = 8;
pub const KEYFILE_SCRYPT_R_DEFAULT: u32 = 8;
pub const KEYFILE_SCRYPT_P_MIN: u32 = 1;
pub const KEYFILE_SCRYPT_P_MAX: u32 = 4;
pub const KEYFILE_SCRYPT_P_DEFAULT: u32 = 1;
/// scrypt salt, one per layer, fresh when a password is set.
pub const KEYFILE_SALT_BYTES: usize = 32;
/// XChaCha20-Poly1305 nonce, fresh for every save.
pub const KEYFILE_NONCE_BYTES: usize = 24;
/// The Poly1305 tag after each ciphertext.
pub const KEYFILE_TAG_BYTES: usize = 16;
/// SHA-256 over the whole file, at its end (tells damage from a wrong password).
pub const KEYFILE_CHECKSUM_BYTES: usize = 32;
/// The inner (password B) layer, kept as an opaque byte string in the outer layer.
pub const KEYFILE_INNER_BYTES_MAX: usize = 256;
/// The center's signed receipt kept with each history entry (a payment answer
/// is a few hundred bytes; a larger receipt is refused when it is added).
pub const KEYFILE_RECEIPT_BYTES_MAX: usize = 2_048;
/// Purchase history entries and outbox entries one key file holds.
pub const KEYFILE_HISTORY_ENTRIES_MAX: usize = 10_000;
pub const KEYFILE_OUTBOX_ENTRIES_MAX: usize = 64;
/// The center's identity card `center.pub` (a few lines of text).
pub const IDENTITY_CARD_BYTES_MAX: usize = 4_096;

const _: () = assert!(FRAME_BYTES_MAX <= u16::MAX as usize);
// NK with empty payloads: each handshake message is one ephemeral key and one tag.
const _: () = assert!(HANDSHAKE_REQUEST_BYTES == NOISE_PUBLIC_KEY_BYTES + NOISE_TAG_BYTES);
const _: () = assert!(HANDSHAKE_RESPONSE_BYTES == NOISE_PUBLIC_KEY_BYTES + NOISE_TAG_BYTES);
// Both handshake messages must fit in one frame.
const _: () = assert!(HANDSHAKE_REQUEST_BYTES <= FRAME_BYTES_MAX && HANDSHAKE_RESPONSE_BYTES <= FRAME_BYTES_MAX);
const _: () = assert!(HEADER_BYTES + BODY_BYTES_MAX + SIGNATURE_BYTES + NOISE_TAG_BYTES == FRAME_BYTES_MAX);
const _: () = assert!(BODY_BYTES_MAX <= u16::MAX as usize);
const _: () = assert!(DELIVERY_CHUNK_BYTES_MAX + 1_024 <= BODY_BYTES_MAX);
const _: () = assert!(GUIDE_TEXT_BYTES_MAX + 1_024 <= BODY_BYTES_MAX);
const _: () = assert!(KEYFILE_LOG_N_MIN <= KEYFILE_LOG_N_DEFAULT && KEYFILE_LOG_N_DEFAULT <= KEYFILE_LOG_N_MAX);
const _: () =
    assert!(KEYFILE_SCRYPT_R_MIN <= KEYFILE_SCRYPT_R_DEFAULT && KEYFILE_SCRYPT_R_DEFAULT <= KEYFILE_SCRYPT_R_MAX);
const _: () =
    assert!(KEYFILE_SCRYPT_P_MIN <= KEYFILE_SCRYPT_P_DEFAULT && KEYFILE_SCRYPT_P_DEFAULT <= KEYFILE_SCRYPT_P_MAX);
// scrypt needs log_n < 16 * r: the defaults must be valid scrypt parameters.
const _: () = assert!((KEYFILE_LOG_N_DEFAULT as u32) < 16 * KEYFILE_SCRYPT_R_DEFAULT);
// The most memory a key file may make scrypt allocate: 1 GiB.
const _: () = assert!((128 * (KEYFILE_SCRYPT_R_MAX as u64)) << KEYFILE_LOG_N_MAX <= 1 << 30);
// A key file at every list's maximum (each entry at its largest) stays under
// the file limit, with room for the profile, keys, inner layer and envelope.
const _: () = assert!(
    KEYFILE_HISTORY_ENTRIES_MAX
        * (4 + 2 + TRADE_NAME_BYTES_MAX + 2 + ITEM_TITLE_BYTES_MAX + 8 + 2 + KEYFILE_RECEIPT_BYTES_MAX)
        + KEYFILE_OUTBOX_ENTRIES_MAX * (8 + 2 + TELEGRAM_BYTES_MAX)
        + 64 * 1024
        <= KEYFILE_BYTES_MAX
);
const _: () = assert!(KEYFILE_RECEIPT_BYTES_MAX <= TELEGRAM_BYTES_MAX);
// Lists carry a u16 count (the outbox limit is far below the history limit).
const _: () = assert!(KEYFILE_HISTORY_ENTRIES_MAX <= u16::MAX as usize);
const _: () = assert!(KEYFILE_OUTBOX_ENTRIES_MAX <= KEYFILE_HISTORY_ENTRIES_MAX);
// A thousand maximal amounts summed must not come near overflow.
const _: () = assert!(AMOUNT_YEN_MAX.checked_mul(1_000_000).is_some());
// Party numbers print as eight digits and fit the u64 header field.
const _: () = assert!(PARTY_NUMBER_MAX < 100_000_000);
const _: () = assert!(CATALOG_PARTS_MAX * CATALOG_PUBLISH_ITEMS_MAX >= CATALOG_ITEMS_MAX);
const _: () = assert!(CATALOG_PARTS_MAX <= u16::MAX as usize);
const _: () = assert!(DELIVERY_PLAINTEXT_CHUNK_BYTES > 0);
const _: () = assert!(EXPORT_CHUNK_BYTES_MAX + 1_024 <= BODY_BYTES_MAX);
// A journal entry answer: the piece plus the entry's fields (peer text, hashes).
const _: () = assert!(JOURNAL_PIECE_BYTES_MAX + 1_024 <= BODY_BYTES_MAX);
// Two pieces hold any telegram, so the console's fetch loop is short.
const _: () = assert!(2 * JOURNAL_PIECE_BYTES_MAX >= TELEGRAM_BYTES_MAX);
// Per-second counts of every class for a minute fit a body with room to spare.
const _: () = assert!(TELEGRAM_CLASSES_MAX * (1 + 2 + 2 * LIVE_SECONDS_MAX) + 1_024 <= BODY_BYTES_MAX);
