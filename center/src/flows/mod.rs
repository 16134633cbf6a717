//! What the center decides for each verified telegram: one module per
//! family, each with the same shape — take the body, read and write through
//! the group's [`Tx`], and return a [`Decision`].
//!
//! The committer around these functions handles what is common to every
//! telegram: idempotency, journaling, signing the answer, durability.

pub mod card;
pub mod catalog;
pub mod common;
pub mod delivery;
pub mod maintenance;
pub mod network;
pub mod operator;
pub mod payment;
pub mod payout;
pub mod refund;
pub mod registration;
pub mod report;
pub mod statement;
#[cfg(test)]
pub mod testing;

use denbun_protocol::reject::RejectReason;
use denbun_protocol::sign::CenterFingerprint;
use denbun_protocol::telegram::{Body, FundsRequest, MailQueueRequest, MaintenanceRequest, PayoutsRequest, Telegram};

use crate::config::Config;
use crate::credit::SimulatedCreditCompany;
use crate::service::tx::{Origin, Tx};
use crate::storage::StorageError;

/// What the center answers.
#[derive(Debug)]
pub enum Decision {
    /// The telegram is accepted; this is the answer's body (boxed: bodies
    /// are large and decisions move between functions).
    Answer(Box<Body>),
    /// The telegram is refused for this reason, with an optional message.
    Reject(RejectReason, Option<String>),
}

impl Decision {
    /// A refusal with the reason's own message.
    pub fn reject(reason: RejectReason) -> Self {
        Decision::Reject(reason, None)
    }

    /// A refusal with a message for the person at the terminal.
    pub fn reject_with(reason: RejectReason, message: impl Into<String>) -> Self {
        Decision::Reject(reason, Some(message.into()))
    }
}

impl Decision {
    /// Accepts with `body` as the answer.
    pub fn answer(body: impl Into<Body>) -> Self {
        Decision::Answer(Box::new(body.into()))
    }
}

/// What every flow may look at besides the telegram.
pub struct FlowContext<'c> {
    /// The center's configuration.
    pub config: &'c Config,
    /// The center's fingerprint.
    pub fingerprint: &'c CenterFingerprint,
    /// Where the telegram came from.
    pub origin: &'c Origin,
}

/// Whether the answer to this telegram is recorded for idempotency. Read-only
/// queries and session management are answered afresh each time; everything
/// that changes state is answered once and repeated byte for byte.
pub fn records_idempotency(body: &Body) -> bool {
    !matches!(
        body,
        Body::GuideRequest(_)
            | Body::SignOn(_)
            | Body::Echo(_)
            | Body::SignOff(_)
            | Body::MailboxFetch(_)
            | Body::MailboxAck(_)
            // Money queries that change nothing: answered afresh (a delivery
            // chunk is 32 KiB; keeping every fetch's answer would double
            // what the journal already keeps).
            | Body::StoreListRequest(_)
            | Body::CatalogPageRequest(_)
            | Body::DeliveryFetch(_)
            | Body::StatementRequest(_)
            | Body::ReportRequest(_)
            | Body::Inquiry(_)
            | Body::FundsRequest(FundsRequest::Pending(_))
            | Body::PayoutsRequest(PayoutsRequest::Pending(_))
            // What the operator console polls: keeping each answer would
            // grow the idempotency records with every refresh.
            | Body::JournalQuery(_)
            | Body::MailQueueRequest(MailQueueRequest::List(_))
            | Body::MaintenanceRequest(MaintenanceRequest::LiveFigures | MaintenanceRequest::JournalEntry(_))
    )
}

/// Decides the answer to a verified telegram.
pub fn apply(tx: &mut Tx<'_>, context: &FlowContext<'_>, telegram: &Telegram) -> Result<Decision, StorageError> {
    let sender = telegram.sender();
    match telegram.body() {
        Body::GuideRequest(request) => Ok(registration::guide(context, request)),
        Body::Application(application) => registration::apply(tx, context, application),
        Body::Registration(registration) => registration::register(tx, context, sender, registration),
        Body::SignOn(_) => network::sign_on(tx, sender),
        Body::Echo(_) => Ok(network::echo()),
        Body::SignOff(_) => Ok(network::sign_off()),
        Body::MailboxFetch(fetch) => network::mailbox_fetch(tx, sender, fetch),
        Body::MailboxAck(ack) => network::mailbox_ack(tx, sender, ack),
        Body::MailQueueRequest(request) => operator::mail_queue(tx, request),
        Body::JournalQuery(query) => maintenance::journal_query(tx, query),
        Body::MaintenanceRequest(request) => maintenance::maintenance(tx, request),
        Body::CardRequest(request) => {
            let credit = SimulatedCreditCompany::new(&context.config.credit);
            card::request(tx, context, telegram.header(), request, &credit)
        }
        Body::CatalogPublish(publish) => catalog::publish(tx, context, telegram.header(), publish),
        Body::StoreListRequest(request) => catalog::store_list(tx, telegram.header(), request),
        Body::CatalogPageRequest(request) => catalog::page(tx, telegram.header(), request),
        Body::PaymentInstruction(instruction) => payment::pay(tx, context, telegram.header(), instruction),
        Body::DeliveryUpload(upload) => delivery::upload(tx, context, telegram.header(), upload),
        Body::DeliveryFetch(fetch) => delivery::fetch(tx, telegram.header(), fetch),
        Body::DeliveryAcknowledgement(acknowledgement) => delivery::acknowledge(tx, telegram.header(), acknowledgement),
        Body::Shipment(shipment) => delivery::ship(tx, telegram.header(), shipment),
        Body::PaymentClaim(claim) => payout::claim_payment(tx, telegram.header(), claim),
        Body::Refund(refund) => refund::refund(tx, context, telegram.header(), refund),
        Body::StatementRequest(request) => statement::statement(tx, telegram.header(), request),
        Body::FundsRequest(request) => operator::funds(tx, context, telegram.header(), request),
        Body::PayoutsRequest(request) => payout::payouts(tx, context, telegram.header(), request),
        Body::BalanceRefund(request) => operator::balance_refund(tx, context, telegram.header(), request),
        Body::FreezeRequest(request) => operator::freeze(tx, telegram.header(), request),
        Body::ReportRequest(request) => report::report(tx, context, telegram.header(), request),
        Body::Inquiry(inquiry) => operator::inquiry(tx, telegram.header(), inquiry),
        _ => Ok(Decision::reject_with(
            RejectReason::NotPermitted,
            format!("telegram {} is not offered by this center yet", telegram.code()),
        )),
    }
}
