//! Building blocks shared by the command line, the full-screen terminal and
//! `denbun demo`: asking for texts, applying, signed requests that do not
//! wait in the outbox, keeping notices as receipts, and reading receipts back.

use denbun_protocol::header::{PartyId, PartyKind};
use denbun_protocol::identity::CenterIdentity;
use denbun_protocol::keyfile::HistoryEntry;
use denbun_protocol::limits::{ITEM_TITLE_BYTES_MAX, TRADE_NAME_BYTES_MAX};
use denbun_protocol::reject::RejectReason;
use denbun_protocol::sign::Signer;
use denbun_protocol::telegram::card::FundingChannel;
use denbun_protocol::telegram::{
    Applicant, Application, ApplicationAccepted, Body, GuideRequest, GuideText, GuideTopic, PersonalData,
    RegistrationCertificate, Telegram,
};
use denbun_protocol::wire::{Blob, Text, Yen};
use ed25519_dalek::{SigningKey, VerifyingKey};

use crate::session::{
    Answer, Rejection, Session, SessionError, date_of_unix_ms, random_processing_number, unix_time_ms,
};
use crate::vault::{UnlockedVault, VaultError};

/// Why a shared step failed, in words for the person at the terminal.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The session failed or the center refused.
    #[error(transparent)]
    Session(#[from] SessionError),
    /// The key file could not be changed.
    #[error(transparent)]
    Vault(#[from] VaultError),
    /// The center answered with a telegram this step did not expect.
    #[error("The center answered with an unexpected telegram {0}.")]
    Unexpected(denbun_protocol::header::Code),
    /// The request could not be built.
    #[error("Cannot build the telegram: {0}")]
    Build(String),
}

/// Asks for the guide or an agreement (anonymously).
pub async fn fetch_guide(session: &Session, topic: GuideTopic) -> Result<GuideText, ServiceError> {
    let telegram = Signer::anonymous()
        .request(random_processing_number(), unix_time_ms(), GuideRequest { topic })
        .map_err(|error| ServiceError::Build(error.to_string()))?;
    match session.request(&telegram).await?.into_telegram().into_body() {
        Body::GuideText(text) => Ok(text),
        other => Err(ServiceError::Unexpected(other.code())),
    }
}

/// Applies (anonymously, unsigned) having accepted `agreement_version`.
pub async fn apply(
    session: &Session,
    applicant: Applicant,
    personal: PersonalData,
    agreement_version: u32,
) -> Result<ApplicationAccepted, ServiceError> {
    let application = Application { applicant, personal, agreement_version };
    let telegram = Signer::anonymous()
        .request(random_processing_number(), unix_time_ms(), application)
        .map_err(|error| ServiceError::Build(error.to_string()))?;
    match session.request(&telegram).await?.into_telegram().into_body() {
        Body::ApplicationAccepted(accepted) => Ok(accepted),
        other => Err(ServiceError::Unexpected(other.code())),
    }
}

/// Signs `body` with a fresh processing number (saved first) and sends it
/// outside the outbox: for requests that change nothing at the center
/// (store list, catalog pages, statements, delivery chunks), where a lost
/// answer is simply asked for again.
pub async fn request_signed(
    vault: &mut UnlockedVault,
    session: &Session,
    key: &SigningKey,
    body: impl Into<Body>,
) -> Result<Answer, ServiceError> {
    let processing_number = vault.allocate_processing_number()?;
    let telegram = Signer::new(vault.profile().party, key, session.fingerprint())
        .map_err(|error| ServiceError::Build(error.to_string()))?
        .request(processing_number, unix_time_ms(), body)
        .map_err(|error| ServiceError::Build(error.to_string()))?;
    Ok(session.request(&telegram).await?)
}

/// The registration certificate for `owner` kept in the history, if any.
pub fn certificate_in_history(vault: &UnlockedVault, owner: PartyId) -> Option<RegistrationCertificate> {
    vault.history().iter().find_map(|entry| match Telegram::decode(entry.receipt.as_slice()).ok()?.into_body() {
        Body::RegistrationCertificate(certificate) if certificate.party == owner => Some(certificate),
        _ => None,
    })
}

/// A receipt's telegram if it decodes and carries the center's valid signature.
pub fn verified_receipt(center: &CenterIdentity, receipt: &[u8]) -> Option<Telegram> {
    let telegram = Telegram::decode(receipt).ok()?;
    let key = VerifyingKey::from_bytes(&center.verification_key).ok()?;
    if telegram.sender() != PartyId::CENTER {
        return None;
    }
    telegram.verify(&key, &center.fingerprint()).ok()?;
    Some(telegram)
}

/// The history entry that keeps a notice from the center as a receipt:
/// the notice's date, who it concerns, what it says and the amount it moves.
/// `None` for notices too large to keep or with a date out of range.
pub fn notice_entry(notice: &Telegram) -> Option<HistoryEntry> {
    let date = date_of_unix_ms(notice.header().sent_at_ms())?;
    let (party, goods, amount): (String, String, Yen) = match notice.body() {
        // A card the credit company paid for was issued in the answer to the
        // request, which the history already holds with its amount; its notice
        // is kept as a receipt too, but must not count the money twice.
        Body::CardIssueNotice(issued) if issued.channel == FundingChannel::CreditCompany => {
            ("center".to_owned(), format!("notice: prepaid card {} issued", issued.card.card_number), Yen::ZERO)
        }
        Body::CardIssueNotice(issued) => {
            ("center".to_owned(), format!("prepaid card {}", issued.card.card_number), issued.card.face_value.as_yen())
        }
        Body::PaymentNotice(paid) => {
            (paid.member.to_string(), format!("sale, transaction {}", paid.transaction_number), paid.total.as_yen())
        }
        Body::DeliveryReadyNotice(ready) => (
            ready.store.to_string(),
            format!("ready to download: item {} of transaction {}", ready.item_id, ready.transaction_number),
            Yen::ZERO,
        ),
        Body::DeliveredNotice(delivered) => (
            delivered.member.to_string(),
            format!("delivered: item {} of transaction {}", delivered.item_id, delivered.transaction_number),
            Yen::ZERO,
        ),
        Body::ShipmentNotice(shipped) => {
            (shipped.store.to_string(), format!("shipped by {}: {}", shipped.carrier, shipped.tracking), Yen::ZERO)
        }
        Body::PayoutNotice(payout) => {
            ("center".to_owned(), format!("payout {}", payout.payout_number), payout.amount.as_yen())
        }
        Body::RefundNotice(refund) => (
            refund.store.to_string(),
            format!("refund of transaction {}", refund.transaction_number),
            refund.amount.as_yen(),
        ),
        Body::BalanceRefundNotice(refund) => {
            ("center".to_owned(), format!("unused balance refunded ({})", refund.refund_number), refund.amount)
        }
        other => ("center".to_owned(), other.code().name().to_owned(), Yen::ZERO),
    };
    Some(HistoryEntry {
        date,
        store: Text::new(cut(&party, TRADE_NAME_BYTES_MAX)).ok()?,
        goods: Text::new(cut(&goods, ITEM_TITLE_BYTES_MAX)).ok()?,
        amount,
        receipt: Blob::new(notice.as_bytes().to_vec()).ok()?,
    })
}

/// The longest prefix of `text` of at most `max` bytes ending on a character boundary.
pub fn cut(text: &str, max: usize) -> &str {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// A refusal in the member's words: what happened and what to do next.
/// `what` names the action ("the top-up", "the payment").
pub fn explain_rejection(rejection: &Rejection, what: &str) -> String {
    let next = match rejection.reason {
        RejectReason::NotPermitted => {
            return format!(
                "The center does not accept {what} from this terminal ({}). Nothing was changed. If the center has \
                 just started offering it, try again later.",
                rejection.message
            );
        }
        RejectReason::InsufficientBalance => "Top up your prepaid card, then pay again.",
        RejectReason::PriceMismatch => "The store changed its catalog: open it again and check the prices.",
        RejectReason::UnknownStoreOrItem => "Open the store list again; the store or item may be gone.",
        RejectReason::LimitExceeded => "Try a smaller amount or fewer items.",
        RejectReason::CreditDeclined => "Choose another funding channel, or ask your credit company.",
        RejectReason::WrongActivationCode => "Check the code in your letter (letters and digits) and try again.",
        RejectReason::ActivationCodeUsed => "This number is registered already; unlock your key file instead.",
        RejectReason::ActivationCodeExpired | RejectReason::TooManyAttempts => {
            "Apply again to get a new number and letter."
        }
        RejectReason::Frozen => "Your account is frozen: contact the center.",
        RejectReason::NotFound => "Check the number and try again.",
        RejectReason::AlreadyDone => "Nothing more to do.",
        RejectReason::UnknownSender => "Your registration is not known at this center; register first.",
        RejectReason::NotSignedOn => "Unlock signing with password B so the terminal signs on, then try again.",
        RejectReason::RateLimited | RejectReason::Busy | RejectReason::StorageUnavailable => {
            "Nothing was applied; it waits in the outbox and is sent again."
        }
        _ => "Nothing was applied. If this happens again, contact the center.",
    };
    format!("The center refused {what}: {} ({}). {next}", rejection.message, rejection.reason.code())
}

/// Whether `party` is a store (the terminal's mode follows the key file).
pub fn is_store(party: PartyId) -> bool {
    party.kind() == PartyKind::Store
}

#[cfg(test)]
mod tests {
    use denbun_protocol::telegram::card::{CardIssueNotice, IssuedCard};
    use denbun_protocol::wire::Amount;

    use super::*;

    fn card_notice(channel: FundingChannel) -> Telegram {
        let center = SigningKey::from_bytes(&[7; 32]);
        let notice = CardIssueNotice {
            card: IssuedCard {
                card_number: 3,
                face_value: Amount::new(5_000).unwrap(),
                issued_at_ms: 1_795_000_000_000,
            },
            channel,
            reference: None,
            balance: Yen::new(5_000).unwrap(),
        };
        Signer::center(&center).notice(PartyId::member(1).unwrap(), 9, 1_795_000_000_000, notice).unwrap()
    }

    #[test]
    fn a_credit_card_notice_does_not_count_the_money_its_answer_already_counted() {
        // The answer to a credit-company request issued the card; its notice is a second receipt.
        let credit = notice_entry(&card_notice(FundingChannel::CreditCompany)).unwrap();
        assert_eq!(credit.amount, Yen::ZERO);
        assert!(credit.goods.contains("notice"), "{}", credit.goods.as_str());
        // A transfer card is issued only by its notice: that entry carries the amount.
        let bank = notice_entry(&card_notice(FundingChannel::BankTransfer)).unwrap();
        assert_eq!(bank.amount, Yen::new(5_000).unwrap());
    }
}
