//! Random well-formed values, for property tests, fuzzing and benchmarks
//! (feature `test-support`; never enabled in production builds).
//!
//! Every body type gets [`Sample`] from the macro that declares it; the few
//! with rules between their fields write it here, so that a sampled body is
//! always one that [`crate::sign::Signer`] accepts (except a registration,
//! whose store details must match the sender's kind: callers pick the sender
//! to fit, or sample again).

use ed25519_dalek::{SigningKey, VerifyingKey};
use rand_core::RngCore;
use x25519_dalek::PublicKey as DeliveryKey;

use crate::header::{MemberNumber, PartyId, PartyKind, StoreNumber};
use crate::limits::{
    AMOUNT_YEN_MAX, CATALOG_PARTS_MAX, DELIVERY_BYTES_MAX, DELIVERY_CHUNK_BYTES_MAX, MAILBOX_BATCH_MAX,
    PARTY_NUMBER_MAX, TELEGRAM_CODE_MAX,
};
use crate::reject::RejectReason;
use crate::telegram::{
    ActivationCode, ApplicationAccepted, AscendingNumbers, CatalogPublish, ContentBytes, DateRange, DeliveryChunk,
    DeliveryFetch, DeliveryReadyNotice, DeliveryUpload, Digits, FreezeAction, FreezeRequest, MailboxFetch, OrderLine,
    PaymentInstruction, PaymentNotice, RegistrationCertificate, Reject, order_total, sealed_size,
};
use crate::wire::{Amount, Blob, Date, List, Text, Yen};

/// A type that can produce a random well-formed value of itself.
pub trait Sample: Sized {
    /// A random value; edge values (empty, maximal, zero) come up often.
    fn sample(rng: &mut dyn RngCore) -> Self;
}

/// A number in `0..bound` (`bound` > 0).
pub fn below(rng: &mut dyn RngCore, bound: u64) -> u64 {
    assert!(bound > 0, "below(0) has no value");
    rng.next_u64() % bound
}

/// True once in `odds` draws.
fn one_in(rng: &mut dyn RngCore, odds: u64) -> bool {
    below(rng, odds) == 0
}

macro_rules! sample_integer {
    ($($type:ty),*) => {$(
        impl Sample for $type {
            fn sample(rng: &mut dyn RngCore) -> Self {
                match below(rng, 8) {
                    0 => 0,
                    1 => <$type>::MAX,
                    2 => below(rng, 16) as $type,
                    _ => rng.next_u64() as $type,
                }
            }
        }
    )*};
}
sample_integer!(u8, u16, u32, u64);

impl Sample for bool {
    fn sample(rng: &mut dyn RngCore) -> Self {
        one_in(rng, 2)
    }
}

impl<const N: usize> Sample for [u8; N] {
    fn sample(rng: &mut dyn RngCore) -> Self {
        let mut bytes = [0u8; N];
        rng.fill_bytes(&mut bytes);
        bytes
    }
}

impl<T: Sample> Sample for Option<T> {
    fn sample(rng: &mut dyn RngCore) -> Self {
        one_in(rng, 2).then(|| T::sample(rng))
    }
}

impl<const MAX: usize> Sample for Text<MAX> {
    fn sample(rng: &mut dyn RngCore) -> Self {
        if one_in(rng, 16) {
            return Text::new("x".repeat(MAX)).expect("MAX bytes fit");
        }
        // One- to four-byte characters, to exercise byte (not character) limits.
        const PALETTE: &[char] = &['a', 'Z', '7', ' ', '-', 'é', 'ｶ', '電', '文', '🎌'];
        let budget = below(rng, MAX.min(24) as u64 + 1) as usize;
        let mut text = String::new();
        for _ in 0..budget {
            let character = PALETTE[below(rng, PALETTE.len() as u64) as usize];
            if text.len() + character.len_utf8() > budget {
                break;
            }
            text.push(character);
        }
        Text::new(text).expect("built within the budget")
    }
}

impl<const MAX: usize> Sample for Blob<MAX> {
    fn sample(rng: &mut dyn RngCore) -> Self {
        let length = if one_in(rng, 16) { MAX } else { below(rng, MAX.min(64) as u64 + 1) as usize };
        let mut bytes = vec![0u8; length];
        rng.fill_bytes(&mut bytes);
        Blob::new(bytes).expect("length within MAX")
    }
}

impl<T: Sample, const MAX: usize> Sample for List<T, MAX> {
    fn sample(rng: &mut dyn RngCore) -> Self {
        let count = if one_in(rng, 32) { MAX } else { below(rng, MAX.min(3) as u64 + 1) as usize };
        List::new((0..count).map(|_| T::sample(rng)).collect()).expect("count within MAX")
    }
}

impl Sample for Amount {
    fn sample(rng: &mut dyn RngCore) -> Self {
        let yen = match below(rng, 8) {
            0 => 1,
            1 => AMOUNT_YEN_MAX,
            _ => 1 + below(rng, 100_000),
        };
        Amount::new(yen).expect("in range")
    }
}

impl Sample for Yen {
    fn sample(rng: &mut dyn RngCore) -> Self {
        let yen = match below(rng, 8) {
            0 => 0,
            1 => AMOUNT_YEN_MAX,
            _ => below(rng, 1_000_000),
        };
        Yen::new(yen).expect("in range")
    }
}

impl Sample for Date {
    fn sample(rng: &mut dyn RngCore) -> Self {
        let year = 1900 + below(rng, 1100) as u16;
        let month = 1 + below(rng, 12) as u8;
        let day = 1 + below(rng, 28) as u8;
        Date::new(year, month, day).expect("day 1..=28 exists in every month")
    }
}

fn party_number(rng: &mut dyn RngCore) -> u64 {
    match below(rng, 4) {
        0 => 1,
        1 => PARTY_NUMBER_MAX,
        _ => 1 + below(rng, PARTY_NUMBER_MAX),
    }
}

impl Sample for PartyId {
    fn sample(rng: &mut dyn RngCore) -> Self {
        let kind = PartyKind::ALL[below(rng, PartyKind::ALL.len() as u64) as usize];
        let number = if kind.is_numbered() { party_number(rng) } else { 0 };
        PartyId::new(kind, number).expect("number fits the kind")
    }
}

impl Sample for MemberNumber {
    fn sample(rng: &mut dyn RngCore) -> Self {
        MemberNumber::new(party_number(rng)).expect("in range")
    }
}

impl Sample for StoreNumber {
    fn sample(rng: &mut dyn RngCore) -> Self {
        StoreNumber::new(party_number(rng)).expect("in range")
    }
}

impl Sample for VerifyingKey {
    fn sample(rng: &mut dyn RngCore) -> Self {
        let mut seed = [0u8; 32];
        rng.fill_bytes(&mut seed);
        SigningKey::from_bytes(&seed).verifying_key()
    }
}

impl Sample for DeliveryKey {
    fn sample(rng: &mut dyn RngCore) -> Self {
        DeliveryKey::from(<[u8; 32]>::sample(rng))
    }
}

impl Sample for ActivationCode {
    fn sample(rng: &mut dyn RngCore) -> Self {
        const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789-";
        let length = 1 + below(rng, 16) as usize;
        let code: String =
            (0..length).map(|_| char::from(ALPHABET[below(rng, ALPHABET.len() as u64) as usize])).collect();
        ActivationCode::new(&code).expect("printable ASCII within the limit")
    }
}

impl<const N: usize> Sample for Digits<N> {
    fn sample(rng: &mut dyn RngCore) -> Self {
        let text: String = (0..N).map(|_| char::from(b'0' + below(rng, 10) as u8)).collect();
        Digits::new(&text).expect("N digits")
    }
}

impl Sample for ContentBytes {
    fn sample(rng: &mut dyn RngCore) -> Self {
        let bytes = match below(rng, 4) {
            0 => 1,
            1 => DELIVERY_BYTES_MAX,
            _ => 1 + below(rng, DELIVERY_BYTES_MAX),
        };
        ContentBytes::new(bytes).expect("in range")
    }
}

impl<const MAX: usize> Sample for AscendingNumbers<MAX> {
    fn sample(rng: &mut dyn RngCore) -> Self {
        let count = 1 + below(rng, MAX.min(4) as u64) as usize;
        let numbers = (0..count).map(|index| index as u64 * 1_000 + below(rng, 1_000)).collect();
        AscendingNumbers::new(numbers).expect("1..=MAX distinct numbers")
    }
}

impl Sample for DateRange {
    fn sample(rng: &mut dyn RngCore) -> Self {
        let (first, second) = (Date::sample(rng), Date::sample(rng));
        DateRange::new(first.min(second), first.max(second)).expect("ordered")
    }
}

impl Sample for CatalogPublish {
    fn sample(rng: &mut dyn RngCore) -> Self {
        let part_count = 1 + below(rng, CATALOG_PARTS_MAX as u64) as u16;
        CatalogPublish {
            version: 1 + below(rng, 1_000) as u32,
            part_index: below(rng, u64::from(part_count)) as u16,
            part_count,
            items: List::sample(rng),
        }
    }
}

fn order_lines(rng: &mut dyn RngCore) -> (List<OrderLine, { crate::limits::ORDER_LINES_MAX }>, Amount) {
    let count = 1 + below(rng, 4) as usize;
    let lines: Vec<OrderLine> = (0..count)
        .map(|_| OrderLine {
            item_id: u32::sample(rng),
            quantity: 1 + below(rng, 9) as u16,
            unit_price: Amount::new(1 + below(rng, 50_000)).expect("in range"),
        })
        .collect();
    let total = order_total(&lines).expect("small prices sum within the limit");
    (List::new(lines).expect("at most 4 lines"), total)
}

impl Sample for PaymentInstruction {
    fn sample(rng: &mut dyn RngCore) -> Self {
        let (lines, total) = order_lines(rng);
        PaymentInstruction {
            transaction_number: u64::sample(rng),
            store: StoreNumber::sample(rng),
            catalog_version: u32::sample(rng),
            lines,
            total,
        }
    }
}

impl Sample for PaymentNotice {
    fn sample(rng: &mut dyn RngCore) -> Self {
        let (lines, total) = order_lines(rng);
        PaymentNotice {
            transaction_number: u64::sample(rng),
            member: MemberNumber::sample(rng),
            member_delivery_key: DeliveryKey::sample(rng),
            catalog_version: u32::sample(rng),
            lines,
            total,
            paid_at_ms: u64::sample(rng),
        }
    }
}

/// A sealed size, a chunk offset in it, and that chunk's bytes.
fn sealed_chunk(rng: &mut dyn RngCore) -> (u64, u64, Blob<DELIVERY_CHUNK_BYTES_MAX>) {
    // Small contents mostly, so the chunk stays small; sometimes several chunks.
    let content = match below(rng, 4) {
        0 => ContentBytes::sample(rng),
        _ => ContentBytes::new(1 + below(rng, 200)).expect("in range"),
    };
    let sealed_bytes = sealed_size(content);
    let chunk_size = DELIVERY_CHUNK_BYTES_MAX as u64;
    let chunks = sealed_bytes.div_ceil(chunk_size);
    let offset = below(rng, chunks) * chunk_size;
    let length = chunk_size.min(sealed_bytes - offset) as usize;
    let mut bytes = vec![0u8; length];
    rng.fill_bytes(&mut bytes);
    (sealed_bytes, offset, Blob::new(bytes).expect("at most one chunk"))
}

impl Sample for DeliveryUpload {
    fn sample(rng: &mut dyn RngCore) -> Self {
        let (sealed_bytes, offset, chunk) = sealed_chunk(rng);
        DeliveryUpload {
            transaction_number: u64::sample(rng),
            item_id: u32::sample(rng),
            ephemeral_key: DeliveryKey::sample(rng),
            sealed_bytes,
            offset,
            chunk,
        }
    }
}

impl Sample for DeliveryChunk {
    fn sample(rng: &mut dyn RngCore) -> Self {
        let (sealed_bytes, offset, chunk) = sealed_chunk(rng);
        DeliveryChunk {
            transaction_number: u64::sample(rng),
            item_id: u32::sample(rng),
            ephemeral_key: DeliveryKey::sample(rng),
            sealed_bytes,
            offset,
            chunk,
        }
    }
}

impl Sample for DeliveryFetch {
    fn sample(rng: &mut dyn RngCore) -> Self {
        DeliveryFetch {
            transaction_number: u64::sample(rng),
            item_id: u32::sample(rng),
            offset: below(rng, 600) * DELIVERY_CHUNK_BYTES_MAX as u64,
        }
    }
}

impl Sample for DeliveryReadyNotice {
    fn sample(rng: &mut dyn RngCore) -> Self {
        let content_bytes = ContentBytes::sample(rng);
        DeliveryReadyNotice {
            transaction_number: u64::sample(rng),
            item_id: u32::sample(rng),
            store: StoreNumber::sample(rng),
            content_bytes,
            content_sha256: <[u8; 32]>::sample(rng),
            sealed_bytes: sealed_size(content_bytes),
        }
    }
}

impl Sample for MailboxFetch {
    fn sample(rng: &mut dyn RngCore) -> Self {
        MailboxFetch { max_notices: 1 + below(rng, MAILBOX_BATCH_MAX as u64) as u16 }
    }
}

impl Sample for FreezeRequest {
    fn sample(rng: &mut dyn RngCore) -> Self {
        FreezeRequest { party: registrant(rng), action: FreezeAction::sample(rng), reason: Text::sample(rng) }
    }
}

impl Sample for Reject {
    fn sample(rng: &mut dyn RngCore) -> Self {
        Reject {
            reason: RejectReason::ALL[below(rng, RejectReason::ALL.len() as u64) as usize],
            refused_code: below(rng, u64::from(TELEGRAM_CODE_MAX) + 1) as u16,
            message: Text::sample(rng),
        }
    }
}

/// A member or a store: the parties that register.
fn registrant(rng: &mut dyn RngCore) -> PartyId {
    if one_in(rng, 2) { MemberNumber::sample(rng).party() } else { StoreNumber::sample(rng).party() }
}

impl Sample for ApplicationAccepted {
    fn sample(rng: &mut dyn RngCore) -> Self {
        ApplicationAccepted {
            assigned: registrant(rng),
            activation_code_expires_at_ms: u64::sample(rng),
            message: Text::sample(rng),
        }
    }
}

impl Sample for RegistrationCertificate {
    fn sample(rng: &mut dyn RngCore) -> Self {
        RegistrationCertificate {
            party: registrant(rng),
            name: Text::sample(rng),
            verification_key: VerifyingKey::sample(rng),
            delivery_key: DeliveryKey::sample(rng),
            registered_at_ms: u64::sample(rng),
        }
    }
}
