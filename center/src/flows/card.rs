//! Families 20 and 21: prepaid cards through four funding channels.
//!
//! - Credit company: the center asks the credit company ([`CreditCompany`])
//!   and issues the card at once when credit is granted; a decline is a
//!   reject with the company's reason.
//! - Bank transfer, post-office transfer, registered-mail cash: the answer is
//!   a transfer reference and instructions; the request waits until an
//!   operator confirms that the money arrived (9000, in `operator.rs`), which
//!   issues a card for the amount received.
//!
//! Either way the member gets a signed card issue notice (2140).

use denbun_protocol::header::{Header, MemberNumber};
use denbun_protocol::limits::{MESSAGE_BYTES_MAX, REFERENCE_BYTES_MAX};
use denbun_protocol::reject::RejectReason;
use denbun_protocol::telegram::{
    CardAnswer, CardIssueNotice, CardIssued, CardPending, CardRequest, FundingChannel, IssuedCard,
};
use denbun_protocol::wire::{Amount, Text};

use super::common::{accept, member_in_good_standing, refused, today, yen};
use super::{Decision, FlowContext};
use crate::credit::{CreditCompany, CreditDecision, CreditRequest};
use crate::ledger::{self, Cause, cards};
use crate::service::tx::Tx;
use crate::storage::ledger_records::{
    AccountId, CardRecord, CreditUsage, FundingRecord, FundingStatus, PendingFunding,
};
use crate::storage::{Counter, LedgerKey, StorageError};

/// `2000`: a member asks for a card.
pub fn request(
    tx: &mut Tx<'_>,
    context: &FlowContext<'_>,
    header: &Header,
    request: &CardRequest,
    credit: &dyn CreditCompany,
) -> Result<Decision, StorageError> {
    let (member, _) = accept!(member_in_good_standing(tx, header.sender())?);
    let money = &context.config.money;
    let amount = request.amount;
    if amount.get() > money.card_amount_yen_max {
        return Ok(Decision::reject_with(
            RejectReason::LimitExceeded,
            format!("a card is at most {} yen", money.card_amount_yen_max),
        ));
    }
    let balance = ledger::balance_yen(tx, AccountId::stored_value(member))?;
    if balance.saturating_add(amount.get()) > money.balance_yen_max {
        return Ok(Decision::reject_with(
            RejectReason::LimitExceeded,
            format!(
                "your balance would be {} yen; a member may hold at most {} yen",
                balance.saturating_add(amount.get()),
                money.balance_yen_max
            ),
        ));
    }
    let channel = request.channel;
    if channel != FundingChannel::CreditCompany {
        return pending(tx, context, member, channel, amount);
    }

    let day = today(tx, context);
    let month = ledger::month_of(day);
    let usage_key = LedgerKey::credit_usage(member, month);
    let mut usage = tx.ledger_record(&usage_key)?.unwrap_or(CreditUsage { member, month, used_yen: 0 });
    let decision = credit.authorize(&CreditRequest {
        member: member.party(),
        amount_yen: amount.get(),
        month,
        granted_this_month_yen: usage.used_yen,
    });
    let authorization = match decision {
        CreditDecision::Granted { authorization } => authorization,
        CreditDecision::Declined { reason } => return Ok(Decision::reject_with(RejectReason::CreditDeclined, reason)),
    };
    let cause = Cause::of(header);
    let description = format!("credit company {authorization}");
    let (card, balance) =
        accept!(issue_and_notify(tx, context, &cause, member, channel, amount, 0, None, &description)?);
    usage.used_yen = usage.used_yen.checked_add(amount.get()).expect("limited amounts");
    tx.ledger_put(usage);
    Ok(Decision::answer(CardAnswer::Issued(CardIssued { card: issued_card(&card), balance: yen(balance) })))
}

/// A transfer channel: record the request and answer with its reference.
fn pending(
    tx: &mut Tx<'_>,
    context: &FlowContext<'_>,
    member: MemberNumber,
    channel: FundingChannel,
    amount: Amount,
) -> Result<Decision, StorageError> {
    let funding_number = tx.next(Counter::LastFunding)?;
    let reference = reference(channel, funding_number);
    tx.ledger_put(FundingRecord {
        funding_number,
        member,
        channel,
        amount,
        requested_at_ms: tx.now_ms(),
        status: FundingStatus::Pending,
        decided_at_ms: 0,
        decided_by: denbun_protocol::header::PartyId::CENTER,
        amount_received_yen: 0,
        card_number: 0,
        note: Text::default(),
    });
    tx.ledger_put(PendingFunding { funding_number });
    let money = &context.config.money;
    let template = match channel {
        FundingChannel::BankTransfer => &money.bank_transfer_instructions,
        FundingChannel::PostOfficeTransfer => &money.post_office_transfer_instructions,
        _ => &money.registered_mail_instructions,
    };
    // "20,000 yen", as every screen writes money.
    let instructions = template.replace("{amount}", &amount.to_string()).replace("{reference}", &reference);
    Ok(Decision::answer(CardAnswer::Pending(CardPending {
        reference: Text::new(reference).expect("references are short"),
        amount,
        instructions: Text::<MESSAGE_BYTES_MAX>::truncated(&instructions),
    })))
}

/// Issues a card, credits the member and mails the signed issue notice.
/// Refused (nothing written) when the balance would go over the ledger's limit.
#[allow(clippy::too_many_arguments)]
pub fn issue_and_notify(
    tx: &mut Tx<'_>,
    context: &FlowContext<'_>,
    cause: &Cause,
    member: MemberNumber,
    channel: FundingChannel,
    amount: Amount,
    funding_number: u64,
    reference: Option<Text<REFERENCE_BYTES_MAX>>,
    description: &str,
) -> Result<Result<(CardRecord, u64), Decision>, StorageError> {
    let day = today(tx, context);
    let posting = cards::top_up_posting(member, channel, amount);
    if let Err(refusal) = ledger::check(tx, &posting)? {
        return Ok(Err(refused(refusal)));
    }
    let (card, balance) = cards::issue(tx, cause, day, member, channel, amount, funding_number, description)?
        .expect("checked just before");
    tx.notice(member.party(), CardIssueNotice { card: issued_card(&card), channel, reference, balance: yen(balance) })?;
    Ok(Ok((card, balance)))
}

/// A card as the protocol shows it.
pub fn issued_card(card: &CardRecord) -> IssuedCard {
    IssuedCard { card_number: card.card_number, face_value: card.face_value, issued_at_ms: card.issued_at_ms }
}

/// The letters in front of a transfer reference, by channel.
fn reference_prefix(channel: FundingChannel) -> &'static str {
    match channel {
        FundingChannel::CreditCompany => "CC",
        FundingChannel::BankTransfer => "BT",
        FundingChannel::PostOfficeTransfer => "PO",
        FundingChannel::RegisteredMailCash => "RM",
    }
}

/// The Luhn check digit of `digits`, so a mistyped reference is caught
/// before it finds someone else's request.
fn check_digit(digits: &str) -> u32 {
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(index, byte)| {
            let digit = u32::from(byte - b'0');
            if index % 2 == 0 {
                let doubled = digit * 2;
                if doubled > 9 { doubled - 9 } else { doubled }
            } else {
                digit
            }
        })
        .sum();
    (10 - sum % 10) % 10
}

/// The transfer reference of funding request `funding_number`:
/// `BT-00000012-5` (channel, number, check digit).
pub fn reference(channel: FundingChannel, funding_number: u64) -> String {
    let digits = format!("{funding_number:08}");
    format!("{}-{digits}-{}", reference_prefix(channel), check_digit(&digits))
}

/// Reads a reference as an operator may type it (any case, dashes and
/// spaces anywhere): the channel and funding number, if the check digit holds.
pub fn parse_reference(text: &str) -> Option<(FundingChannel, u64)> {
    let cleaned: String =
        text.chars().filter(|character| !matches!(character, '-' | ' ')).map(|c| c.to_ascii_uppercase()).collect();
    if cleaned.len() < 4 || !cleaned.is_ascii() {
        return None;
    }
    let (prefix, rest) = cleaned.split_at(2);
    let channel = *FundingChannel::ALL.iter().find(|channel| reference_prefix(**channel) == prefix)?;
    let (digits, check) = rest.split_at(rest.len() - 1);
    if digits.is_empty() || digits.len() > 19 || !rest.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    if check_digit(digits) != check.parse::<u32>().ok()? {
        return None;
    }
    Some((channel, digits.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_carry_the_channel_and_a_check_digit() {
        let text = reference(FundingChannel::BankTransfer, 12);
        assert!(text.starts_with("BT-00000012-"));
        assert!(text.len() <= REFERENCE_BYTES_MAX);
        assert_eq!(parse_reference(&text), Some((FundingChannel::BankTransfer, 12)));
        assert_eq!(parse_reference(&text.to_lowercase().replace('-', " ")), Some((FundingChannel::BankTransfer, 12)));
        let mistyped = text.replace("00000012", "00000021");
        assert_eq!(parse_reference(&mistyped), None);
        assert_eq!(parse_reference("XX-00000012-0"), None);
        assert_eq!(parse_reference(""), None);
        assert_eq!(parse_reference("BT"), None);
        let large = reference(FundingChannel::RegisteredMailCash, u64::MAX / 10);
        assert_eq!(parse_reference(&large), Some((FundingChannel::RegisteredMailCash, u64::MAX / 10)));
    }
}

#[cfg(test)]
mod flow_tests {
    use denbun_protocol::telegram::{
        Body, FreezeAction, FreezeRequest, FundsAnswer, FundsConfirmation, FundsRejection, FundsRequest, PageRequest,
    };

    use super::*;
    use crate::flows::testing::{Bench, reject_message, rejected};

    fn card_request(amount_yen: u64, channel: FundingChannel) -> CardRequest {
        CardRequest { amount: Amount::new(amount_yen).unwrap(), channel }
    }

    fn balance(bench: &mut Bench, member: denbun_protocol::header::PartyId) -> u64 {
        bench.stored_value(member)
    }

    #[test]
    fn the_credit_company_issues_at_once_and_the_member_is_notified() {
        let mut bench = Bench::new();
        let member = bench.member();
        let answer = bench.send(member, card_request(5_000, FundingChannel::CreditCompany));
        let Body::CardAnswer(CardAnswer::Issued(issued)) = answer.body() else { panic!("{answer:?}") };
        assert_eq!(issued.card.face_value.get(), 5_000);
        assert_eq!(issued.balance.get(), 5_000);
        let second = bench.send(member, card_request(3_000, FundingChannel::CreditCompany));
        let Body::CardAnswer(CardAnswer::Issued(second)) = second.body() else { panic!("{second:?}") };
        assert!(second.card.card_number > issued.card.card_number);
        assert_eq!(second.balance.get(), 8_000);
        let notices = bench.mailbox(member);
        assert_eq!(notices.len(), 2);
        let Body::CardIssueNotice(notice) = notices[1].body() else { panic!("{:?}", notices[1]) };
        assert_eq!(notice.card, second.card);
        assert_eq!(notice.channel, FundingChannel::CreditCompany);
        assert_eq!(notice.reference, None);
        assert_eq!(notice.balance.get(), 8_000);
        assert_eq!(balance(&mut bench, member), 8_000);
        bench.assert_audit_passes();
    }

    #[test]
    fn the_credit_company_declines_beyond_the_monthly_line_and_nothing_is_issued() {
        let mut config = crate::config::Config::default_config();
        config.credit.default_monthly_line_yen = 10_000;
        config.credit.lines.insert("M00000002".to_owned(), 0);
        let mut bench = Bench::with_config(config);
        let member = bench.member();
        let no_credit = bench.member();
        assert_eq!(rejected(&bench.send(member, card_request(6_000, FundingChannel::CreditCompany))), None);
        let over = bench.send(member, card_request(4_001, FundingChannel::CreditCompany));
        assert_eq!(rejected(&over), Some(RejectReason::CreditDeclined));
        assert!(reject_message(&over).contains("4000 yen of it is left"), "{}", reject_message(&over));
        assert_eq!(rejected(&bench.send(member, card_request(4_000, FundingChannel::CreditCompany))), None);
        let declined = bench.send(no_credit, card_request(1_000, FundingChannel::CreditCompany));
        assert_eq!(rejected(&declined), Some(RejectReason::CreditDeclined));
        assert_eq!(balance(&mut bench, member), 10_000);
        assert_eq!(balance(&mut bench, no_credit), 0);
        assert!(bench.mailbox(no_credit).is_empty());
        // A new month, a new line.
        bench.advance(31 * crate::flows::testing::DAY_MS);
        assert_eq!(rejected(&bench.send(member, card_request(10_000, FundingChannel::CreditCompany))), None);
        bench.assert_audit_passes();
    }

    #[test]
    fn a_transfer_waits_for_the_operator_who_issues_the_amount_received() {
        let mut bench = Bench::new();
        let member = bench.member();
        let operator = bench.operator();
        let answer = bench.send(member, card_request(20_000, FundingChannel::BankTransfer));
        let Body::CardAnswer(CardAnswer::Pending(pending)) = answer.body() else { panic!("{answer:?}") };
        assert!(pending.reference.starts_with("BT-"));
        assert!(pending.instructions.contains(pending.reference.as_str()), "{}", pending.instructions);
        assert!(pending.instructions.contains("Transfer 20,000 yen to"), "{}", pending.instructions);
        assert_eq!(balance(&mut bench, member), 0);
        assert!(bench.mailbox(member).is_empty());

        let list = bench.send(operator, FundsRequest::Pending(PageRequest { page: 0 }));
        let Body::FundsAnswer(FundsAnswer::Pending(page)) = list.body() else { panic!("{list:?}") };
        assert_eq!(page.rows.len(), 1);
        assert_eq!(page.rows[0].reference, pending.reference);
        assert_eq!(page.rows[0].member, member.try_into().unwrap());

        let confirmation = FundsConfirmation {
            reference: Text::new(pending.reference.to_lowercase()).unwrap(),
            amount_received: Amount::new(19_500).unwrap(),
        };
        let confirmed = bench.send(operator, FundsRequest::Confirm(confirmation.clone()));
        let Body::FundsAnswer(FundsAnswer::Confirmed(confirmed)) = confirmed.body() else { panic!("{confirmed:?}") };
        assert_eq!(confirmed.card.face_value.get(), 19_500);
        assert_eq!(balance(&mut bench, member), 19_500);
        let notices = bench.mailbox(member);
        let Body::CardIssueNotice(notice) = notices[0].body() else { panic!("{:?}", notices[0]) };
        assert_eq!(notice.reference.as_ref(), Some(&pending.reference));
        assert_eq!(notice.channel, FundingChannel::BankTransfer);

        // Confirmed again (a new processing number): the same card, no second one.
        let again = bench.send(operator, FundsRequest::Confirm(confirmation));
        let Body::FundsAnswer(FundsAnswer::Confirmed(again)) = again.body() else { panic!("{again:?}") };
        assert_eq!(again.card, confirmed.card);
        assert_eq!(balance(&mut bench, member), 19_500);
        let other_amount =
            FundsConfirmation { reference: pending.reference.clone(), amount_received: Amount::new(20_000).unwrap() };
        assert_eq!(
            rejected(&bench.send(operator, FundsRequest::Confirm(other_amount))),
            Some(RejectReason::AlreadyDone)
        );
        let list = bench.send(operator, FundsRequest::Pending(PageRequest { page: 0 }));
        let Body::FundsAnswer(FundsAnswer::Pending(page)) = list.body() else { panic!("{list:?}") };
        assert!(page.rows.is_empty());
        bench.assert_audit_passes();
    }

    #[test]
    fn a_rejected_transfer_issues_nothing_and_stays_rejected() {
        let mut bench = Bench::new();
        let member = bench.member();
        let operator = bench.operator();
        let answer = bench.send(member, card_request(3_000, FundingChannel::RegisteredMailCash));
        let Body::CardAnswer(CardAnswer::Pending(pending)) = answer.body() else { panic!("{answer:?}") };
        assert!(pending.reference.starts_with("RM-"));
        let rejection = FundsRejection {
            reference: pending.reference.clone(),
            reason: Text::new("the envelope was empty").unwrap(),
        };
        let first = bench.send(operator, FundsRequest::Reject(rejection.clone()));
        assert!(matches!(first.body(), Body::FundsAnswer(FundsAnswer::Rejected(_))), "{first:?}");
        let second = bench.send(operator, FundsRequest::Reject(rejection));
        assert_eq!(first.body(), second.body());
        let confirm = FundsConfirmation { reference: pending.reference.clone(), amount_received: pending.amount };
        let refused = bench.send(operator, FundsRequest::Confirm(confirm));
        assert_eq!(rejected(&refused), Some(RejectReason::AlreadyDone));
        assert!(reject_message(&refused).contains("the envelope was empty"));
        let unknown = FundsConfirmation {
            reference: Text::new(reference(FundingChannel::BankTransfer, 1)).unwrap(),
            amount_received: pending.amount,
        };
        assert_eq!(rejected(&bench.send(operator, FundsRequest::Confirm(unknown))), Some(RejectReason::NotFound));
        assert_eq!(balance(&mut bench, member), 0);
        bench.assert_audit_passes();
    }

    #[test]
    fn cards_and_balances_have_limits_and_a_frozen_member_is_refused() {
        let mut config = crate::config::Config::default_config();
        config.money.card_amount_yen_max = 10_000;
        config.money.balance_yen_max = 15_000;
        let mut bench = Bench::with_config(config);
        let member = bench.member();
        let operator = bench.operator();
        let too_large = bench.send(member, card_request(10_001, FundingChannel::CreditCompany));
        assert_eq!(rejected(&too_large), Some(RejectReason::LimitExceeded));
        assert_eq!(rejected(&bench.send(member, card_request(10_000, FundingChannel::CreditCompany))), None);
        let over_balance = bench.send(member, card_request(5_001, FundingChannel::PostOfficeTransfer));
        assert_eq!(rejected(&over_balance), Some(RejectReason::LimitExceeded));
        let freeze = FreezeRequest {
            party: member,
            action: FreezeAction::Freeze,
            reason: Text::new("reported stolen key file").unwrap(),
        };
        assert_eq!(rejected(&bench.send(operator, freeze)), None);
        let frozen = bench.send(member, card_request(1_000, FundingChannel::CreditCompany));
        assert_eq!(rejected(&frozen), Some(RejectReason::Frozen));
        let unfreeze =
            FreezeRequest { party: member, action: FreezeAction::Unfreeze, reason: Text::new("found").unwrap() };
        assert_eq!(rejected(&bench.send(operator, unfreeze)), None);
        assert_eq!(rejected(&bench.send(member, card_request(1_000, FundingChannel::CreditCompany))), None);
        assert_eq!(balance(&mut bench, member), 11_000);
        bench.assert_audit_passes();
    }
}
