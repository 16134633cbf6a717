//! Family 8: sign-on, echo, sign-off and the mailbox (store and forward).

use denbun_protocol::header::PartyId;
use denbun_protocol::limits::MAILBOX_BATCH_MAX;
use denbun_protocol::reject::RejectReason;
use denbun_protocol::telegram::network::{
    EchoAnswer, MailboxAck, MailboxAckAnswer, MailboxFetch, MailboxFetchAnswer, SignOffAnswer, SignOnAnswer,
};

use super::Decision;
use crate::service::tx::Tx;
use crate::storage::{PartyStatus, StorageError};

/// Most notices counted for an answer; a mailbox holding more says "at least".
const MAILBOX_COUNT_MAX: usize = 10_000;

/// `8000`: sign-on (its signature over the handshake hash is already verified).
pub fn sign_on(tx: &mut Tx<'_>, sender: PartyId) -> Result<Decision, StorageError> {
    match tx.party(sender)? {
        Some(record) if matches!(record.status, PartyStatus::Registered | PartyStatus::Frozen) => {}
        Some(_) | None => return Ok(Decision::reject(RejectReason::UnknownSender)),
    }
    let waiting = tx.mailbox(sender, MAILBOX_COUNT_MAX)?.len();
    Ok(Decision::answer(SignOnAnswer {
        mailbox_count: u32::try_from(waiting).expect("bounded by MAILBOX_COUNT_MAX"),
        center_time_ms: tx.now_ms(),
    }))
}

/// `8100`: echo.
pub fn echo() -> Decision {
    Decision::answer(EchoAnswer {})
}

/// `8200`: sign-off; the connection closes after the answer.
pub fn sign_off() -> Decision {
    Decision::answer(SignOffAnswer {})
}

/// `8300`: how many notices the connection delivers now (it sends them
/// before this answer) and how many remain after them.
pub fn mailbox_fetch(tx: &mut Tx<'_>, sender: PartyId, fetch: &MailboxFetch) -> Result<Decision, StorageError> {
    let waiting = tx.mailbox(sender, MAILBOX_COUNT_MAX)?.len();
    let batch = usize::from(fetch.max_notices).min(MAILBOX_BATCH_MAX);
    let delivered = waiting.min(batch);
    Ok(Decision::answer(MailboxFetchAnswer {
        delivered: u16::try_from(delivered).expect("bounded by MAILBOX_BATCH_MAX"),
        remaining: u32::try_from(waiting - delivered).expect("bounded by MAILBOX_COUNT_MAX"),
    }))
}

/// `8400`: removes the sender's notices up to a sequence number.
pub fn mailbox_ack(tx: &mut Tx<'_>, sender: PartyId, ack: &MailboxAck) -> Result<Decision, StorageError> {
    let mut removed = 0u32;
    // Bounded: at most MAILBOX_COUNT_MAX notices are looked at per acknowledgement.
    for notice in tx.mailbox(sender, MAILBOX_COUNT_MAX)? {
        if notice.sequence > ack.up_to_sequence {
            break;
        }
        tx.remove_notice(sender, notice.sequence);
        removed += 1;
    }
    let remaining = tx.mailbox(sender, MAILBOX_COUNT_MAX)?.len();
    Ok(Decision::answer(MailboxAckAnswer {
        removed,
        remaining: u32::try_from(remaining).expect("bounded by MAILBOX_COUNT_MAX"),
    }))
}
