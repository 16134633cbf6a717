//! What the money flows share: who may act (standing), the business day,
//! turning ledger refusals into rejects, and paging through an index.

use denbun_protocol::header::{MemberNumber, PartyId, PartyKind, StoreNumber};
use denbun_protocol::reject::RejectReason;
use denbun_protocol::wire::{Date, Yen};

use super::{Decision, FlowContext};
use crate::ledger::{self, Refusal};
use crate::service::tx::Tx;
use crate::storage::ledger_records::AccountClass;
use crate::storage::{LedgerRange, LedgerType, PartyRecord, PartyStatus, ScanOrder, StorageError};

/// Unwraps an accepted value or returns the refusal from the flow.
macro_rules! accept {
    ($result:expr) => {
        match $result {
            Ok(value) => value,
            Err(decision) => return Ok(decision),
        }
    };
}
pub(crate) use accept;

/// Records read at a time while paging through an index.
const SCAN_CHUNK: usize = 1_000;

/// Whether `record` may do business: registered and neither frozen nor closed.
fn in_good_standing(record: &PartyRecord) -> Result<(), Decision> {
    match record.status {
        PartyStatus::Registered => Ok(()),
        PartyStatus::Frozen => Err(Decision::reject(RejectReason::Frozen)),
        PartyStatus::Closed => Err(Decision::reject_with(
            RejectReason::NotPermitted,
            format!("{} is closed; contact the center", record.party),
        )),
        PartyStatus::Applied => Err(Decision::reject_with(
            RejectReason::UnknownSender,
            format!("{} has applied but not registered", record.party),
        )),
    }
}

/// The sending member, in good standing.
pub fn member_in_good_standing(
    tx: &mut Tx<'_>,
    sender: PartyId,
) -> Result<Result<(MemberNumber, PartyRecord), Decision>, StorageError> {
    let Ok(member) = MemberNumber::try_from(sender) else {
        return Ok(Err(Decision::reject(RejectReason::NotPermitted)));
    };
    let Some(record) = tx.party(sender)? else {
        return Ok(Err(Decision::reject(RejectReason::UnknownSender)));
    };
    Ok(in_good_standing(&record).map(|()| (member, record)))
}

/// The sending store, in good standing.
pub fn store_in_good_standing(
    tx: &mut Tx<'_>,
    sender: PartyId,
) -> Result<Result<(StoreNumber, PartyRecord), Decision>, StorageError> {
    let Ok(store) = StoreNumber::try_from(sender) else {
        return Ok(Err(Decision::reject(RejectReason::NotPermitted)));
    };
    let Some(record) = tx.party(sender)? else {
        return Ok(Err(Decision::reject(RejectReason::UnknownSender)));
    };
    Ok(in_good_standing(&record).map(|()| (store, record)))
}

/// The sending operator, registered.
pub fn operator_in_good_standing(tx: &mut Tx<'_>, sender: PartyId) -> Result<Result<(), Decision>, StorageError> {
    if sender.kind() != PartyKind::Operator {
        return Ok(Err(Decision::reject(RejectReason::NotPermitted)));
    }
    match tx.party(sender)? {
        Some(record) => Ok(in_good_standing(&record)),
        None => Ok(Err(Decision::reject(RejectReason::UnknownSender))),
    }
}

/// The business day now.
pub fn today(tx: &Tx<'_>, context: &FlowContext<'_>) -> Date {
    ledger::business_day(tx.now_ms(), context.config.money.utc_offset_hours)
}

/// A balance shown to people (the ledger keeps every such balance within
/// `AMOUNT_YEN_MAX`).
pub fn yen(value: u64) -> Yen {
    Yen::new(value).expect("the ledger caps balances shown to people at AMOUNT_YEN_MAX")
}

/// The reject for a ledger refusal.
pub fn refused(refusal: Refusal) -> Decision {
    match refusal {
        Refusal::Insufficient { account, balance_yen } => match account.class {
            AccountClass::StoredValue => Decision::reject_with(
                RejectReason::InsufficientBalance,
                format!("insufficient balance: {balance_yen} yen on your cards"),
            ),
            AccountClass::StorePayable => Decision::reject_with(
                RejectReason::InsufficientBalance,
                format!("the store's payable balance is {balance_yen} yen"),
            ),
            _ => Decision::reject_with(RejectReason::InsufficientBalance, format!("{account} holds {balance_yen} yen")),
        },
        Refusal::OverLimit { account, balance_yen } => Decision::reject_with(
            RejectReason::LimitExceeded,
            format!("{account} would go over the largest balance the center keeps (it holds {balance_yen} yen)"),
        ),
    }
}

/// Page `page` of `per_page` records of an index, and how many pages there
/// are (at least 1). Reads the whole index to count it, in chunks: used for
/// operators' lists of what is pending, which stay short.
pub fn page_of<T: LedgerType>(
    tx: &mut Tx<'_>,
    range: &LedgerRange,
    page: u16,
    per_page: usize,
) -> Result<(Vec<T>, u16), StorageError> {
    let first = usize::from(page) * per_page;
    let counted_max = usize::from(u16::MAX) * per_page;
    let mut rows = Vec::with_capacity(per_page);
    let mut total = 0usize;
    let mut range = range.clone();
    for _ in 0..=counted_max / SCAN_CHUNK {
        let chunk = tx.ledger_scan(&range, ScanOrder::Ascending, SCAN_CHUNK)?;
        let Some(last) = chunk.last().map(|record| record.key()) else { break };
        for record in chunk {
            if total >= first && rows.len() < per_page {
                let key = record.key();
                rows.push(T::from_record(record).ok_or_else(|| StorageError::Corrupt {
                    key: format!("{key:?}"),
                    reason: "a record of another kind".to_owned(),
                })?);
            }
            total += 1;
        }
        if total >= counted_max {
            break;
        }
        range = range.resume_after(&last);
    }
    let page_count = u16::try_from(total.div_ceil(per_page).max(1)).unwrap_or(u16::MAX);
    Ok((rows, page_count))
}
