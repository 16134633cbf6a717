//! Arbitrary bytes into the telegram decoders: `Header::decode`,
//! `Refused::from_bytes` (what the center reads to address a reject) and
//! `Telegram::decode`. None may panic, and every telegram accepted must be
//! exactly its own canonical encoding.
//!
//! Random bytes rarely make a valid header, so when the first byte is odd
//! the input is instead a body: the second byte picks a code from the
//! catalog and the target wraps the rest in a valid header and signature
//! field, which drives every body layout.

#![no_main]

use denbun_protocol::header::{Header, PartyKind};
use denbun_protocol::limits::{BODY_BYTES_MAX, SIGNATURE_BYTES};
use denbun_protocol::reject::{Refused, RejectReason};
use denbun_protocol::telegram::{CATALOG, Telegram};
use libfuzzer_sys::fuzz_target;

/// A telegram of the catalog's `code_index`-th code around `body`.
fn wrap(code_index: u8, body: &[u8]) -> Vec<u8> {
    let rule = &CATALOG[usize::from(code_index) % CATALOG.len()];
    let (sender, recipient) = rule
        .senders
        .iter()
        .flat_map(|sender| rule.recipients.iter().map(move |recipient| (*sender, *recipient)))
        .find(|(sender, recipient)| rule.permits(*sender, *recipient))
        .expect("every code has a permitted pair");
    let number = |kind: PartyKind| if kind.is_numbered() { 7u64 } else { 0 };
    let result = if rule.code.number() == 9910 { RejectReason::Malformed.code() } else { 0 };
    let mut bytes = vec![1];
    bytes.extend_from_slice(&rule.code.number().to_be_bytes());
    bytes.push(sender as u8);
    bytes.extend_from_slice(&number(sender).to_be_bytes());
    bytes.push(recipient as u8);
    bytes.extend_from_slice(&number(recipient).to_be_bytes());
    bytes.extend_from_slice(&42u64.to_be_bytes());
    bytes.extend_from_slice(&1_735_689_600_000u64.to_be_bytes());
    bytes.extend_from_slice(&result.to_be_bytes());
    bytes.extend_from_slice(&(body.len() as u16).to_be_bytes());
    bytes.extend_from_slice(body);
    let signature_byte = if sender == PartyKind::Anonymous { 0 } else { 1 };
    bytes.extend(std::iter::repeat_n(signature_byte, SIGNATURE_BYTES));
    bytes
}

fn check(data: &[u8]) {
    let header = Header::decode(data);
    let refused = Refused::from_bytes(data);
    assert!(refused.code() <= 9_999);
    if let Ok(header) = header {
        let encoded = header.encode();
        assert_eq!(&encoded[..], &data[..encoded.len()]);
        assert_eq!(Refused::from_header(&header).processing_number(), header.processing_number());
    }
    if let Ok(telegram) = Telegram::decode(data) {
        assert_eq!(telegram.as_bytes(), data);
        assert_eq!(Telegram::decode(telegram.as_bytes()).as_ref(), Ok(&telegram));
    }
}

fuzz_target!(|data: &[u8]| {
    match data {
        [mode, code_index, body @ ..] if mode % 2 == 1 && body.len() <= BODY_BYTES_MAX => {
            check(&wrap(*code_index, body));
        }
        _ => check(data),
    }
});
