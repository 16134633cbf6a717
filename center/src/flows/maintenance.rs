//! Families 95 and 98: the operator's journal query, and the audit run by the
//! running center on an operator's request.

use denbun_protocol::limits::{AUDIT_FINDINGS_MAX, JOURNAL_ROWS_MAX, MESSAGE_BYTES_MAX};
use denbun_protocol::reject::RejectReason;
use denbun_protocol::telegram::inquiry::{
    AuditResult, JournalDirection as RowDirection, JournalPage, JournalQuery, JournalRow, MaintenanceAnswer,
    MaintenanceRequest,
};
use denbun_protocol::wire::{List, Text};
use ed25519_dalek::VerifyingKey;
use sha2::{Digest, Sha256};

use super::Decision;
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

/// `9800`: the audit on request. Backups come with the reliability work.
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
            Ok(Decision::reject_with(RejectReason::NotPermitted, "backups are not offered by this center yet"))
        }
    }
}
