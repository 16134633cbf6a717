//! Families 90–98: what operators ask of the center. Every operator telegram
//! is signed by an operator key in the register and journaled like any other.

use denbun_protocol::limits::MAIL_LETTERS_MAX;
use denbun_protocol::reject::RejectReason;
use denbun_protocol::telegram::inquiry::{Letter, LetterPage, MailQueueAnswer, MailQueueRequest};
use denbun_protocol::wire::List;

use super::Decision;
use crate::service::tx::Tx;
use crate::storage::{LetterRecord, StorageError};

/// `9700`: list letters, or mark one printed.
pub fn mail_queue(tx: &mut Tx<'_>, request: &MailQueueRequest) -> Result<Decision, StorageError> {
    match request {
        MailQueueRequest::List(query) => {
            let mut letters = Vec::new();
            let mut after = query.after_letter;
            let mut more = false;
            // Bounded: each round reads one page; printed letters may be skipped.
            'pages: for _ in 0..1_000 {
                let page = tx.storage().letters(after, MAIL_LETTERS_MAX)?;
                if page.is_empty() {
                    break;
                }
                for record in page {
                    after = record.id;
                    if record.printed_at_ms.is_some() && !query.include_printed {
                        continue;
                    }
                    if letters.len() == MAIL_LETTERS_MAX {
                        more = true;
                        break 'pages;
                    }
                    letters.push(letter(&record));
                }
            }
            let letters = List::new(letters).expect("at most MAIL_LETTERS_MAX letters");
            Ok(Decision::answer(MailQueueAnswer::Letters(LetterPage { letters, more })))
        }
        MailQueueRequest::Printed(letter_number) => {
            let found = match letter_number.checked_sub(1) {
                Some(after) => tx.storage().letters(after, 1)?.into_iter().find(|record| record.id == *letter_number),
                None => None,
            };
            let Some(mut record) = found else {
                return Ok(Decision::reject_with(RejectReason::NotFound, format!("no letter {letter_number}")));
            };
            if record.printed_at_ms.is_none() {
                record.printed_at_ms = Some(tx.now_ms());
                tx.letter(record);
            }
            Ok(Decision::answer(MailQueueAnswer::Printed(*letter_number)))
        }
    }
}

fn letter(record: &LetterRecord) -> Letter {
    Letter {
        letter_number: record.id,
        recipient: record.recipient,
        name: record.name.clone(),
        address: record.address.clone(),
        activation_code: record.activation_code.clone(),
        expires_at_ms: record.expires_at_ms,
        created_at_ms: record.created_at_ms,
        printed: record.printed_at_ms.is_some(),
    }
}
