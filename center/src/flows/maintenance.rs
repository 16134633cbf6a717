//! Families 95 and 98: the operator's journal query, the audit run by the
//! running center on an operator's request, and what the operator console
//! reads live (the live figures, one journal entry in full).

use denbun_protocol::limits::{AUDIT_FINDINGS_MAX, JOURNAL_PIECE_BYTES_MAX, JOURNAL_ROWS_MAX, MESSAGE_BYTES_MAX};
use denbun_protocol::reject::RejectReason;
use denbun_protocol::telegram::inquiry::{
    AuditResult, JournalDirection as RowDirection, JournalEntryDetail, JournalEntryRequest, JournalPage, JournalQuery,
    JournalRow, LiveFigures, MaintenanceAnswer, MaintenanceRequest,
};
use denbun_protocol::wire::{Blob, List, Text};
use ed25519_dalek::VerifyingKey;
use sha2::{Digest, Sha256};

use super::{Decision, FlowContext};
use crate::service::live::Live;
use crate::service::tx::Tx;
use crate::storage::{JournalDirection, JournalEntry, StorageError};

/// Journal entries one query may look at; a query that reaches it answers
/// the rows found so far with `more` set, so the operator narrows or pages on.
const JOURNAL_SCAN_ENTRIES_MAX: usize = 50_000;
/// Entries read from storage at a time.
const JOURNAL_SCAN_PAGE: usize = 1_000;

/// `9500`: journal entries matching the query, oldest first.
pub fn journal_query(tx: &mut Tx<'_>, query: &JournalQuery) -> Result<Decision, StorageError> {
    let mut rows = Vec::new();
    let mut after = query.after_entry;
    let mut scanned = 0usize;
    let mut more = false;
    'scan: while scanned < JOURNAL_SCAN_ENTRIES_MAX {
        let page = tx.storage().journal(after.saturating_add(1), JOURNAL_SCAN_PAGE)?;
        if page.is_empty() {
            break;
        }
        for entry in page {
            scanned += 1;
            after = entry.sequence;
            if !matches(&entry, query) {
                continue;
            }
            if rows.len() == JOURNAL_ROWS_MAX {
                more = true;
                break 'scan;
            }
            rows.push(row(&entry));
        }
    }
    if scanned >= JOURNAL_SCAN_ENTRIES_MAX {
        more = true;
    }
    let rows = List::new(rows).expect("at most JOURNAL_ROWS_MAX rows");
    Ok(Decision::answer(JournalPage { rows, more }))
}

fn matches(entry: &JournalEntry, query: &JournalQuery) -> bool {
    let summary = &entry.summary;
    query.sender.is_none_or(|sender| summary.sender == sender)
        && query.code.is_none_or(|code| summary.code - summary.code % 10 == code)
        && query.result.is_none_or(|result| summary.result == result)
        && entry.recorded_at_ms >= query.from_ms
        && (query.to_ms == 0 || entry.recorded_at_ms < query.to_ms)
}

fn row(entry: &JournalEntry) -> JournalRow {
    JournalRow {
        entry: entry.sequence,
        recorded_at_ms: entry.recorded_at_ms,
        direction: match entry.direction {
            JournalDirection::In => RowDirection::In,
            JournalDirection::Out => RowDirection::Out,
        },
        code: entry.summary.code,
        sender: entry.summary.sender,
        recipient: entry.summary.recipient,
        processing_number: entry.summary.processing_number,
        result: entry.summary.result,
        telegram_sha256: Sha256::digest(entry.telegram.as_slice()).into(),
        telegram_bytes: u32::try_from(entry.telegram.as_slice().len()).expect("a telegram is under 64 KiB"),
    }
}

/// `9800`: the audit on request, and what a center without a backup location answers to backups.
pub fn maintenance(tx: &mut Tx<'_>, request: &MaintenanceRequest) -> Result<Decision, StorageError> {
    match request {
        MaintenanceRequest::Audit => {
            let center_key: VerifyingKey = tx.signing_key().verifying_key();
            // Audits what is committed; this group's own writes are not yet durable.
            let report = crate::audit::audit(tx.storage(), &center_key)?;
            let findings = report
                .findings
                .iter()
                .take(AUDIT_FINDINGS_MAX)
                .map(|finding| Text::<MESSAGE_BYTES_MAX>::truncated(finding))
                .collect();
            let findings = List::new(findings).expect("at most AUDIT_FINDINGS_MAX findings");
            Ok(Decision::answer(MaintenanceAnswer::Audit(AuditResult { passed: report.passed(), findings })))
        }
        MaintenanceRequest::Backup(_) | MaintenanceRequest::VerifyBackup(_) => {
            // A center with a backup location answers these in the committer (`backup.rs`).
            Ok(Decision::reject_with(
                RejectReason::NotPermitted,
                "this center runs without a backup location; start it with serve --backup-dir DIR",
            ))
        }
        MaintenanceRequest::JournalEntry(request) => journal_entry(tx, request),
        // The committer answers these from its own figures (see `live_figures`).
        MaintenanceRequest::LiveFigures => {
            Ok(Decision::reject_with(RejectReason::NotPermitted, "live figures are not kept here"))
        }
    }
}

/// `9800` live figures: what the console's overview shows.
pub fn live_figures(
    tx: &mut Tx<'_>,
    context: &FlowContext<'_>,
    live: &Live,
    signed_on_sessions: usize,
) -> Result<Decision, StorageError> {
    let now_ms = tx.now_ms();
    let classes = List::new(live.rates(now_ms)).expect("one entry per class, fewer than TELEGRAM_CLASSES_MAX");
    let journal_entries = tx.storage().journal_head()?.sequence;
    Ok(Decision::answer(MaintenanceAnswer::LiveFigures(LiveFigures {
        now_ms,
        started_at_ms: live.started_at_ms(),
        business_day: super::common::today(tx, context),
        connections: live.connections(),
        signed_on_sessions: u32::try_from(signed_on_sessions).unwrap_or(u32::MAX),
        classes,
        latency: live.latency(now_ms),
        refused_last_hour: live.refused_last_hour(now_ms),
        journal_entries,
    })))
}

/// `9800` journal entry: one entry in full, its telegram from `offset`.
pub fn journal_entry(tx: &mut Tx<'_>, request: &JournalEntryRequest) -> Result<Decision, StorageError> {
    let journal_entries = tx.storage().journal_head()?.sequence;
    let Some(entry) = tx.storage().journal(request.entry.max(1), 1)?.into_iter().next() else {
        return Ok(Decision::reject_with(
            RejectReason::NotFound,
            format!("there is no journal entry {}", request.entry),
        ));
    };
    if entry.sequence != request.entry {
        return Ok(Decision::reject_with(
            RejectReason::NotFound,
            format!("there is no journal entry {}", request.entry),
        ));
    }
    let telegram = entry.telegram.as_slice();
    let offset = request.offset as usize;
    if offset > telegram.len() {
        return Ok(Decision::reject_with(
            RejectReason::Malformed,
            format!("entry {} holds {} bytes; offset {offset} is past its end", entry.sequence, telegram.len()),
        ));
    }
    let end = telegram.len().min(offset + JOURNAL_PIECE_BYTES_MAX);
    let piece = Blob::new(telegram[offset..end].to_vec()).expect("at most JOURNAL_PIECE_BYTES_MAX bytes");
    Ok(Decision::answer(MaintenanceAnswer::JournalEntry(JournalEntryDetail {
        entry: entry.sequence,
        journal_entries,
        previous_hash: entry.previous_hash,
        entry_hash: entry.hash(),
        recorded_at_ms: entry.recorded_at_ms,
        direction: match entry.direction {
            JournalDirection::In => RowDirection::In,
            JournalDirection::Out => RowDirection::Out,
        },
        session: entry.session,
        peer: entry.peer.clone(),
        decoded: entry.decoded,
        verified: entry.verified,
        in_reply_to: entry.in_reply_to,
        telegram_bytes: u32::try_from(telegram.len()).expect("a telegram is under 64 KiB"),
        offset: request.offset,
        piece,
    })))
}
