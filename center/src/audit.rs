//! The audit: re-checks the center's data from scratch.
//!
//! - the journal is one unbroken hash chain from entry 1 to the head;
//! - every telegram the center acted on, and every telegram it signed,
//!   verifies (sign-ons against the handshake hash kept with them);
//! - every processing number was applied at most once: all answers to one
//!   (sender, processing number) with the same content are byte-identical,
//!   a different content got a "duplicate" reject, and every idempotency
//!   record holds the answer the journal shows.
//!
//! - the ledger replays from its posting log to every balance and total,
//!   each posting caused by a telegram the journal shows accepted
//!   (`ledger::audit`).
//!
//! It reads storage only. Every loop is bounded by the journal's length.

use std::collections::HashMap;

use denbun_protocol::header::{Code, PartyId};
use denbun_protocol::reject::RejectReason;
use denbun_protocol::sign::CenterFingerprint;
use denbun_protocol::telegram::{Body, Telegram};
use ed25519_dalek::VerifyingKey;

use crate::flows::records_idempotency;
use crate::storage::{JournalDirection, JournalEntry, Storage, StorageError};

/// Journal entries read per page.
const PAGE_ENTRIES: usize = 1_000;
/// Findings kept in a report; the count goes on beyond it.
const FINDINGS_MAX: usize = 100;

/// What the audit found.
#[derive(Debug, Default)]
pub struct AuditReport {
    /// Journal entries checked.
    pub journal_entries: u64,
    /// Signatures verified.
    pub signatures_verified: u64,
    /// Distinct (sender, processing number) pairs applied.
    pub processing_numbers: u64,
    /// Idempotency records checked.
    pub idempotency_records: u64,
    /// Ledger postings replayed.
    pub postings_replayed: u64,
    /// Each problem, in words (at most [`FINDINGS_MAX`]).
    pub findings: Vec<String>,
    /// All problems, including those not kept.
    pub findings_total: u64,
}

impl AuditReport {
    /// Whether every invariant holds.
    pub fn passed(&self) -> bool {
        self.findings_total == 0
    }

    fn find(&mut self, finding: String) {
        self.findings_total += 1;
        if self.findings.len() < FINDINGS_MAX {
            self.findings.push(finding);
        }
    }
}

impl crate::ledger::audit::Findings for AuditReport {
    fn find(&mut self, finding: String) {
        AuditReport::find(self, finding);
    }
}

impl std::fmt::Display for AuditReport {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            formatter,
            "journal entries: {}\nsignatures verified: {}\nprocessing numbers applied: {}\nidempotency records: {}\n\
             ledger postings replayed: {}",
            self.journal_entries,
            self.signatures_verified,
            self.processing_numbers,
            self.idempotency_records,
            self.postings_replayed
        )?;
        if self.passed() {
            write!(formatter, "audit passed: every invariant holds")
        } else {
            for finding in &self.findings {
                writeln!(formatter, "FAIL: {finding}")?;
            }
            if self.findings_total > self.findings.len() as u64 {
                writeln!(formatter, "… and {} more", self.findings_total - self.findings.len() as u64)?;
            }
            write!(formatter, "audit FAILED: {} problems", self.findings_total)
        }
    }
}

/// What one applied (sender, processing number) looked like.
struct Applied {
    digest: [u8; 32],
    answer: Option<Vec<u8>>,
}

/// Runs every check over `storage`, whose center signs with `center_key`.
pub fn audit(storage: &dyn Storage, center_key: &VerifyingKey) -> Result<AuditReport, StorageError> {
    let fingerprint = CenterFingerprint::of(center_key);
    let mut report = AuditReport::default();
    let head = storage.journal_head()?;
    let mut previous_hash = [0u8; 32];
    let mut expected_sequence = 1u64;
    let mut keys: HashMap<PartyId, Option<VerifyingKey>> = HashMap::new();
    // Inbound entry sequence -> (sender, processing number, digest) of what was applied.
    let mut inbound: HashMap<u64, (PartyId, u64, [u8; 32])> = HashMap::new();
    let mut applied: HashMap<(PartyId, u64), Applied> = HashMap::new();
    let mut answers: HashMap<u64, Vec<u8>> = HashMap::new();

    loop {
        let page = storage.journal(expected_sequence, PAGE_ENTRIES)?;
        if page.is_empty() {
            break;
        }
        for entry in page {
            if entry.sequence != expected_sequence {
                report.find(format!("journal entry {expected_sequence} is missing (next is {})", entry.sequence));
            }
            if entry.previous_hash != previous_hash {
                report.find(format!("journal entry {} does not chain to the entry before it", entry.sequence));
            }
            previous_hash = entry.hash();
            expected_sequence = entry.sequence + 1;
            report.journal_entries += 1;
            check_entry(&entry, storage, center_key, &fingerprint, &mut keys, &mut report, &mut inbound, &mut answers)?;
        }
    }
    if head.sequence != expected_sequence - 1 || (head.sequence > 0 && head.hash != previous_hash) {
        report.find(format!(
            "the journal head says entry {} but the chain ends at entry {}",
            head.sequence,
            expected_sequence - 1
        ));
    }

    // At most once: every answer to one content of one processing number is the same.
    let mut sequences: Vec<_> = inbound.into_iter().collect();
    sequences.sort_unstable_by_key(|(sequence, _)| *sequence);
    // (sender, processing number) -> the request's base code if any answer accepted it.
    let mut accepted: HashMap<(PartyId, u64), Option<u16>> = HashMap::new();
    for (sequence, (sender, processing_number, digest)) in sequences {
        let answer = answers.get(&sequence).cloned();
        let acceptance = answer
            .as_deref()
            .and_then(|bytes| Telegram::decode(bytes).ok())
            .filter(|answer| answer.code() != Code::REJECT)
            .map(|answer| answer.code().base().number() - 10);
        let known = accepted.entry((sender, processing_number)).or_insert(None);
        if acceptance.is_some() {
            *known = acceptance;
        }
        match applied.get_mut(&(sender, processing_number)) {
            None => {
                applied.insert((sender, processing_number), Applied { digest, answer });
            }
            Some(first) if first.digest == digest => {
                if first.answer.is_some() && answer.is_some() && first.answer != answer {
                    report.find(format!(
                        "{sender} processing number {processing_number} was answered differently twice \
                         (journal entry {sequence})"
                    ));
                }
            }
            Some(_) => {
                let refused_as_duplicate =
                    answer.as_deref().and_then(|bytes| Telegram::decode(bytes).ok()).is_some_and(|answer| {
                        answer.header().reject_reason() == Some(RejectReason::DuplicateProcessingNumber)
                    });
                if !refused_as_duplicate {
                    report.find(format!(
                        "{sender} processing number {processing_number} was applied to two different telegrams \
                         (journal entry {sequence})"
                    ));
                }
            }
        }
    }
    report.processing_numbers = applied.len() as u64;

    let mut records = Vec::new();
    storage.for_each_idempotency(&mut |sender, processing_number, record| {
        records.push((sender, processing_number, record.clone()));
        true
    })?;
    for (sender, processing_number, record) in records {
        report.idempotency_records += 1;
        match applied.get(&(sender, processing_number)) {
            Some(applied) if applied.digest == record.request_digest => {
                if applied.answer.as_deref() != Some(record.answer.as_slice()) {
                    report.find(format!(
                        "the stored answer to {sender} processing number {processing_number} differs from the journal"
                    ));
                }
            }
            _ => report.find(format!(
                "an answer is stored for {sender} processing number {processing_number}, but the journal has no such telegram"
            )),
        }
    }
    report.postings_replayed = crate::ledger::audit::check(storage, &accepted, &mut report)?;
    Ok(report)
}

#[allow(clippy::too_many_arguments)]
fn check_entry(
    entry: &JournalEntry,
    storage: &dyn Storage,
    center_key: &VerifyingKey,
    fingerprint: &CenterFingerprint,
    keys: &mut HashMap<PartyId, Option<VerifyingKey>>,
    report: &mut AuditReport,
    inbound: &mut HashMap<u64, (PartyId, u64, [u8; 32])>,
    answers: &mut HashMap<u64, Vec<u8>>,
) -> Result<(), StorageError> {
    let bytes = entry.telegram.as_slice();
    let telegram = match Telegram::decode(bytes) {
        Ok(telegram) => telegram,
        Err(_) if !entry.verified => return Ok(()),
        Err(error) => {
            report.find(format!("journal entry {} was acted on but does not decode: {error}", entry.sequence));
            return Ok(());
        }
    };
    if !entry.verified {
        return Ok(());
    }
    let sender = telegram.sender();
    let verified = match entry.direction {
        // Applicants have no key yet; decoding already checked their signature field is empty.
        JournalDirection::In if sender.kind() == denbun_protocol::header::PartyKind::Anonymous => Ok(()),
        JournalDirection::Out => telegram.verify(center_key, fingerprint).map_err(|error| error.to_string()),
        JournalDirection::In => {
            let key = match telegram.body() {
                Body::Registration(registration) => Some(registration.verification_key),
                _ => match keys.get(&sender) {
                    Some(key) => *key,
                    None => {
                        let key = storage
                            .party(sender)?
                            .and_then(|record| record.verification_key)
                            .and_then(|bytes| VerifyingKey::from_bytes(&bytes).ok());
                        keys.insert(sender, key);
                        key
                    }
                },
            };
            match (key, telegram.code().base() == Code::SIGN_ON) {
                (None, _) => Err(format!("{sender} has no registered key")),
                (Some(key), true) => {
                    telegram.verify_sign_on(&key, fingerprint, &entry.handshake_hash).map_err(|error| error.to_string())
                }
                (Some(key), false) => telegram.verify(&key, fingerprint).map_err(|error| error.to_string()),
            }
        }
    };
    match verified {
        Ok(()) if sender.kind() == denbun_protocol::header::PartyKind::Anonymous => {}
        Ok(()) => report.signatures_verified += 1,
        Err(error) => {
            report.find(format!("journal entry {} ({} from {sender}): {error}", entry.sequence, telegram.code()))
        }
    }
    match entry.direction {
        JournalDirection::In if records_idempotency(telegram.body()) => {
            inbound.insert(
                entry.sequence,
                (sender, telegram.header().processing_number(), telegram.content_digest(fingerprint)),
            );
        }
        JournalDirection::Out if entry.in_reply_to != 0 => {
            answers.insert(entry.in_reply_to, bytes.to_vec());
        }
        _ => {}
    }
    Ok(())
}
