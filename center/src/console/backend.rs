//! The operator task: owns the signed-on [`Operator`] (key file, session,
//! outbox) and carries out the console's effects one at a time, reporting
//! back with events. Reads go signed but outside the outbox
//! ([`Operator::query`]); changes go through the outbox
//! ([`Operator::request`]), so a change cut off by a dropped line is sent
//! again, with the same processing number, when the line is back.

use std::path::PathBuf;
use std::time::Duration;

use denbun_protocol::header::{MemberNumber, PartyId, PartyKind, StoreNumber};
use denbun_protocol::sign::CenterFingerprint;
use denbun_protocol::telegram::{AscendingNumbers, LetterQuery};
use denbun_protocol::telegram::{
    BackupRequest, BalanceRefund, Body, DateRange, ExportFormat, FreezeAction, FreezeRequest, FundsAnswer,
    FundsConfirmation, FundsRejection, FundsRequest, Inquiry, InquiryAnswer, JournalDirection, JournalEntryDetail,
    JournalEntryRequest, JournalQuery, MailQueueAnswer, MailQueueRequest, MaintenanceAnswer, MaintenanceRequest,
    PageRequest, PayoutApproval, PayoutExecution, PayoutExport, PayoutsAnswer, PayoutsRequest, ReportRequest, Search,
    Telegram,
};
use denbun_protocol::wire::{Amount, Text};
use ed25519_dalek::VerifyingKey;
use tokio::sync::mpsc;

use super::app::{
    Action, EntryView, Event, Fetch, FileFormat, LineStatus, Loaded, Outcome, STATISTICS_DAYS, describe, shift_day,
};
use crate::operator::{Operator, OperatorError};

/// Pages of a listing read at most (every loop is bounded).
const PAGES_MAX: u16 = 100;
/// Pieces of a transfer file read at most.
const EXPORT_PIECES_MAX: usize = 10_000;
/// Pieces of one journaled telegram (two hold the largest).
const ENTRY_PIECES_MAX: usize = 4;
/// How long to wait between attempts to sign on again.
pub const RECONNECT_INTERVAL: Duration = Duration::from_secs(3);

/// The operator task.
pub struct Backend {
    operator: Operator,
    events: mpsc::Sender<Event>,
    /// Where exported files land when the path typed is relative.
    export_directory: PathBuf,
}

fn message(error: OperatorError) -> String {
    error.to_string()
}

fn unexpected(body: &Body) -> String {
    format!("the center answered with telegram {}, which the console does not expect", body.code())
}

impl Backend {
    /// A task for `operator` that reports on `events`; relative export paths
    /// are taken from `export_directory`.
    pub fn new(operator: Operator, events: mpsc::Sender<Event>, export_directory: PathBuf) -> Backend {
        Backend { operator, events, export_directory }
    }

    /// Carries out effects until the channel closes; signs on again by
    /// itself when the line goes down.
    pub async fn run(mut self, mut effects: mpsc::Receiver<super::app::Effect>) {
        let mut up = true;
        loop {
            if !up {
                match self.operator.reconnect().await {
                    Ok(()) => {
                        up = true;
                        let _ = self.events.send(Event::Line(LineStatus::Up)).await;
                    }
                    Err(error) => {
                        tracing::debug!(%error, "signing on again failed");
                        tokio::select! {
                            () = tokio::time::sleep(RECONNECT_INTERVAL) => continue,
                            effect = effects.recv() => match effect {
                                // Work that comes while the line is down fails at once, saying so.
                                Some(effect) => self.execute(effect).await,
                                None => return,
                            },
                        }
                        continue;
                    }
                }
            }
            let Some(effect) = effects.recv().await else { return };
            self.execute(effect).await;
            if !self.operator.line_is_up() {
                up = false;
                let _ = self.events.send(Event::Line(LineStatus::Down("the center closed the line".to_owned()))).await;
            }
        }
    }

    /// Carries out one effect and reports its event.
    pub async fn execute(&mut self, effect: super::app::Effect) {
        let event = self.event_for(effect).await;
        let _ = self.events.send(event).await;
    }

    /// The event an effect comes to (tests call this directly).
    pub async fn event_for(&mut self, effect: super::app::Effect) -> Event {
        match effect {
            super::app::Effect::Fetch(fetch) => {
                let kind = fetch.kind();
                match self.fetch(fetch).await {
                    Ok(loaded) => Event::Loaded(loaded),
                    Err(message) => Event::Failed { fetch: kind, message },
                }
            }
            super::app::Effect::Act(action) => {
                let what = describe(&action);
                let result = self.act(action).await;
                match &result {
                    Ok(_) => tracing::info!(what = %what, "operator action done"),
                    Err(error) => tracing::warn!(what = %what, %error, "operator action failed"),
                }
                Event::Acted { what, result }
            }
        }
    }

    async fn query(&mut self, body: impl Into<Body>) -> Result<Body, String> {
        Ok(self.operator.query(body).await.map_err(message)?.into_telegram().into_body())
    }

    async fn request(&mut self, body: impl Into<Body>) -> Result<Body, String> {
        Ok(self.operator.request(body).await.map_err(message)?.into_telegram().into_body())
    }

    async fn inquiry(&mut self, inquiry: Inquiry) -> Result<InquiryAnswer, String> {
        match self.query(inquiry).await? {
            Body::InquiryAnswer(answer) => Ok(answer),
            other => Err(unexpected(&other)),
        }
    }

    async fn report(
        &mut self,
        from: denbun_protocol::wire::Date,
        to: denbun_protocol::wire::Date,
    ) -> Result<Box<denbun_protocol::telegram::Report>, String> {
        let range = DateRange::new(from, to).ok_or_else(|| "the range ends before it starts".to_owned())?;
        match self.query(ReportRequest { range }).await? {
            Body::Report(report) => Ok(Box::new(report)),
            other => Err(unexpected(&other)),
        }
    }

    async fn journal(
        &mut self,
        query: JournalQuery,
    ) -> Result<(Vec<denbun_protocol::telegram::JournalRow>, bool), String> {
        match self.query(query).await? {
            Body::JournalPage(page) => Ok((page.rows.into_vec(), page.more)),
            other => Err(unexpected(&other)),
        }
    }

    async fn fetch(&mut self, fetch: Fetch) -> Result<Loaded, String> {
        match fetch {
            Fetch::Live => match self.query(MaintenanceRequest::LiveFigures).await? {
                Body::MaintenanceAnswer(MaintenanceAnswer::LiveFigures(live)) => Ok(Loaded::Live(Box::new(live))),
                other => Err(unexpected(&other)),
            },
            Fetch::Today(day) => Ok(Loaded::Today(self.report(day, day).await?)),
            Fetch::Journal(query) => {
                let (rows, more) = self.journal(query.clone()).await?;
                Ok(Loaded::Journal { query, rows, more })
            }
            Fetch::Refusals { after } => {
                let query = JournalQuery {
                    sender: None,
                    code: Some(denbun_protocol::header::Code::REJECT.number()),
                    result: None,
                    from_ms: 0,
                    to_ms: 0,
                    after_entry: after,
                };
                let (rows, more) = self.journal(query).await?;
                Ok(Loaded::Refusals { rows, more })
            }
            Fetch::Entry(entry) => Ok(Loaded::Entry(Box::new(self.entry(entry).await?))),
            Fetch::Funds => {
                let mut rows = Vec::new();
                for page in 0..PAGES_MAX {
                    match self.query(FundsRequest::Pending(PageRequest { page })).await? {
                        Body::FundsAnswer(FundsAnswer::Pending(listing)) => {
                            rows.extend(listing.rows.into_vec());
                            if page + 1 >= listing.page_count {
                                break;
                            }
                        }
                        other => return Err(unexpected(&other)),
                    }
                }
                Ok(Loaded::Funds(rows))
            }
            Fetch::Claims => {
                let mut rows = Vec::new();
                for page in 0..PAGES_MAX {
                    match self.query(PayoutsRequest::Pending(PageRequest { page })).await? {
                        Body::PayoutsAnswer(PayoutsAnswer::Pending(listing)) => {
                            rows.extend(listing.rows.into_vec());
                            if page + 1 >= listing.page_count {
                                break;
                            }
                        }
                        other => return Err(unexpected(&other)),
                    }
                }
                Ok(Loaded::Claims(rows))
            }
            Fetch::Letters { include_printed } => {
                let mut letters = Vec::new();
                let mut after_letter = 0;
                for _ in 0..PAGES_MAX {
                    let request = MailQueueRequest::List(LetterQuery { include_printed, after_letter });
                    match self.query(request).await? {
                        Body::MailQueueAnswer(MailQueueAnswer::Letters(page)) => {
                            let more = page.more;
                            let page = page.letters.into_vec();
                            after_letter = page.last().map_or(after_letter, |letter| letter.letter_number);
                            letters.extend(page);
                            if !more {
                                break;
                            }
                        }
                        other => return Err(unexpected(&other)),
                    }
                }
                Ok(Loaded::Letters(letters))
            }
            Fetch::Members { text, page } => {
                let text = Text::new(text).map_err(|_| "the search words are too long".to_owned())?;
                match self.inquiry(Inquiry::SearchMembers(Search { text, page })).await? {
                    InquiryAnswer::Members(rows) => Ok(Loaded::Members(rows)),
                    other => Err(format!("unexpected answer {other:?}")),
                }
            }
            Fetch::Stores { text, page } => {
                let text = Text::new(text).map_err(|_| "the search words are too long".to_owned())?;
                match self.inquiry(Inquiry::SearchStores(Search { text, page })).await? {
                    InquiryAnswer::Stores(rows) => Ok(Loaded::Stores(rows)),
                    other => Err(format!("unexpected answer {other:?}")),
                }
            }
            Fetch::Member(member) => {
                let InquiryAnswer::Member(detail) = self.inquiry(Inquiry::Member(member)).await? else {
                    return Err("the center answered with another inquiry".to_owned());
                };
                let mut text = crate::commands::render_member(&detail);
                if let InquiryAnswer::Cards(cards) = self.inquiry(Inquiry::Cards(member)).await? {
                    text.push_str(&crate::commands::render_cards(&cards));
                }
                Ok(Loaded::Party { party: member.into(), text, state: detail.state })
            }
            Fetch::Store(store) => {
                let InquiryAnswer::Store(detail) = self.inquiry(Inquiry::Store(store)).await? else {
                    return Err("the center answered with another inquiry".to_owned());
                };
                Ok(Loaded::Party {
                    party: store.into(),
                    text: crate::commands::render_store(&detail),
                    state: detail.state,
                })
            }
            Fetch::Statistics(day) => {
                let from = shift_day(day, -i64::from(STATISTICS_DAYS - 1)).unwrap_or(day);
                let days = self.report(from, day).await?;
                let day = self.report(day, day).await?;
                Ok(Loaded::Statistics { days, day })
            }
        }
    }

    /// One journal entry in full, its signature checked here again.
    async fn entry(&mut self, entry: u64) -> Result<EntryView, String> {
        let mut bytes = Vec::new();
        let mut first: Option<JournalEntryDetail> = None;
        for _ in 0..ENTRY_PIECES_MAX {
            let offset = u32::try_from(bytes.len()).map_err(|_| "the entry is too large".to_owned())?;
            let request = MaintenanceRequest::JournalEntry(JournalEntryRequest { entry, offset });
            let detail = match self.query(request).await? {
                Body::MaintenanceAnswer(MaintenanceAnswer::JournalEntry(detail)) => detail,
                other => return Err(unexpected(&other)),
            };
            if detail.offset != offset
                || (detail.piece.as_slice().is_empty() && bytes.len() < detail.telegram_bytes as usize)
            {
                return Err("the center sent a piece of the entry out of order; open it again".to_owned());
            }
            bytes.extend_from_slice(detail.piece.as_slice());
            let whole = bytes.len() >= detail.telegram_bytes as usize;
            first.get_or_insert(detail);
            if whole {
                break;
            }
        }
        let mut detail = first.ok_or_else(|| "the center sent no entry".to_owned())?;
        detail.piece = Default::default();
        let telegram = Telegram::decode(&bytes).map_err(|error| error.to_string());
        let signature = match &telegram {
            Ok(telegram) => self.signature_status(telegram, &detail).await,
            Err(_) => "not checked: the bytes are not a telegram (the center kept them as evidence)".to_owned(),
        };
        Ok(EntryView { detail, telegram, signature })
    }

    async fn signature_status(&mut self, telegram: &Telegram, detail: &JournalEntryDetail) -> String {
        let identity = self.operator.center().clone();
        let fingerprint: CenterFingerprint = identity.fingerprint();
        let sender = telegram.sender();
        let center_said =
            if detail.verified { "the center verified it on receipt" } else { "the center did not act on it" };
        let key = match (detail.direction, sender.kind()) {
            (JournalDirection::Out, PartyKind::Center) => VerifyingKey::from_bytes(&identity.verification_key).ok(),
            (_, PartyKind::Operator) if sender == self.operator.party() => Some(self.operator.verification_key()),
            (_, PartyKind::Anonymous) => return "anonymous: unsigned by design (application or guide)".to_owned(),
            (_, PartyKind::Member) => match MemberNumber::try_from(sender) {
                Ok(member) => match self.inquiry(Inquiry::Member(member)).await {
                    Ok(InquiryAnswer::Member(detail)) => detail.keys.map(|keys| keys.verification_key),
                    _ => None,
                },
                Err(_) => None,
            },
            (_, PartyKind::Store) => match StoreNumber::try_from(sender) {
                Ok(store) => match self.inquiry(Inquiry::Store(store)).await {
                    Ok(InquiryAnswer::Store(detail)) => detail.keys.map(|keys| keys.verification_key),
                    _ => None,
                },
                Err(_) => None,
            },
            _ => None,
        };
        let Some(key) = key else {
            return format!("{center_said}; this console has no registered key to check it against");
        };
        if telegram.code().base() == denbun_protocol::header::Code::SIGN_ON {
            return format!("{center_said}; a sign-on signs its session's handshake hash, which the audit re-checks");
        }
        match telegram.verify(&key, &fingerprint) {
            Ok(()) => format!(
                "valid (checked here with the {} key); {center_said}",
                if sender == PartyId::CENTER { "center's" } else { "sender's registered" }
            ),
            Err(error) => format!("DOES NOT VERIFY here ({error}); {center_said}"),
        }
    }

    async fn act(&mut self, action: Action) -> Result<Outcome, String> {
        match action {
            Action::ConfirmFunds { reference, amount_yen } => {
                let amount_received = Amount::new(amount_yen).map_err(|_| "the amount is out of range".to_owned())?;
                let reference = Text::new(reference).map_err(|_| "the reference is too long".to_owned())?;
                match self.request(FundsRequest::Confirm(FundsConfirmation { reference, amount_received })).await? {
                    Body::FundsAnswer(FundsAnswer::Confirmed(confirmed)) => Ok(Outcome::Done(format!(
                        "Confirmed {}: card {} of {} issued to {}.",
                        confirmed.reference.as_str(),
                        confirmed.card.card_number,
                        crate::commands::yen(confirmed.card.face_value.get()),
                        confirmed.member
                    ))),
                    other => Err(unexpected(&other)),
                }
            }
            Action::RejectFunds { reference, reason } => {
                let reference = Text::new(reference).map_err(|_| "the reference is too long".to_owned())?;
                let reason = Text::truncated(&reason);
                match self.request(FundsRequest::Reject(FundsRejection { reference, reason })).await? {
                    Body::FundsAnswer(FundsAnswer::Rejected(rejected)) => {
                        Ok(Outcome::Done(format!("Rejected {} of {}.", rejected.reference.as_str(), rejected.member)))
                    }
                    other => Err(unexpected(&other)),
                }
            }
            Action::MarkPrinted(letter) => match self.request(MailQueueRequest::Printed(letter)).await? {
                Body::MailQueueAnswer(MailQueueAnswer::Printed(number)) => {
                    Ok(Outcome::Done(format!("Letter {number} is marked printed.")))
                }
                other => Err(unexpected(&other)),
            },
            Action::Freeze { party, freeze, reason } => {
                let action = if freeze { FreezeAction::Freeze } else { FreezeAction::Unfreeze };
                let request = FreezeRequest { party, action, reason: Text::truncated(&reason) };
                match self.request(request).await? {
                    Body::FreezeAnswer(answer) => Ok(Outcome::Done(format!(
                        "{} is {}{}.",
                        answer.party,
                        if answer.frozen { "frozen" } else { "not frozen" },
                        if answer.changed { "" } else { " (it already was)" }
                    ))),
                    other => Err(unexpected(&other)),
                }
            }
            Action::RefundBalance { member, account, close, reason } => {
                let request = BalanceRefund {
                    member,
                    payout_account: account,
                    close_account: close,
                    reason: Text::truncated(&reason),
                };
                match self.request(request).await? {
                    Body::BalanceRefundAnswer(answer) => Ok(Outcome::Done(format!(
                        "Refund {}: {} returned to {}'s bank{}.",
                        answer.refund_number,
                        crate::commands::yen(answer.amount.get()),
                        answer.member,
                        if answer.closed { "; the account is closed" } else { "" }
                    ))),
                    other => Err(unexpected(&other)),
                }
            }
            Action::Approve(claims) => {
                let claim_numbers = AscendingNumbers::new(claims)
                    .ok_or_else(|| "too many claims for one batch, or a claim named twice".to_owned())?;
                match self.request(PayoutsRequest::Approve(PayoutApproval { claim_numbers })).await? {
                    Body::PayoutsAnswer(PayoutsAnswer::Approved(batch)) => Ok(Outcome::Approved(batch)),
                    other => Err(unexpected(&other)),
                }
            }
            Action::Export { batch, format, path } => {
                let format = match format {
                    FileFormat::Zengin => ExportFormat::Zengin,
                    FileFormat::Csv => ExportFormat::Csv,
                };
                let mut file = Vec::new();
                for _ in 0..EXPORT_PIECES_MAX {
                    let request = PayoutExport { batch_number: batch, format, offset: file.len() as u64 };
                    let piece = match self.query(PayoutsRequest::Export(request)).await? {
                        Body::PayoutsAnswer(PayoutsAnswer::Export(piece)) => piece,
                        other => return Err(unexpected(&other)),
                    };
                    if piece.offset != file.len() as u64
                        || piece.data.as_slice().is_empty() && (file.len() as u64) < piece.file_bytes
                    {
                        return Err("the center sent a piece of the file out of order; export again".to_owned());
                    }
                    file.extend_from_slice(piece.data.as_slice());
                    if file.len() as u64 >= piece.file_bytes {
                        break;
                    }
                }
                let path = self.export_directory.join(&path);
                std::fs::write(&path, &file).map_err(|error| format!("cannot write {}: {error}", path.display()))?;
                let path = std::fs::canonicalize(&path).unwrap_or(path);
                Ok(Outcome::Exported { batch, path: path.display().to_string(), bytes: file.len() as u64 })
            }
            Action::Executed { batch, on } => {
                match self
                    .request(PayoutsRequest::Executed(PayoutExecution { batch_number: batch, executed_on: on }))
                    .await?
                {
                    Body::PayoutsAnswer(PayoutsAnswer::Executed(summary)) => Ok(Outcome::Executed(summary)),
                    other => Err(unexpected(&other)),
                }
            }
            Action::Backup { label } => {
                let request = MaintenanceRequest::Backup(BackupRequest { label: Text::truncated(&label) });
                match self.request(request).await? {
                    Body::MaintenanceAnswer(MaintenanceAnswer::Backup(result)) => Ok(Outcome::Backup(result)),
                    other => Err(unexpected(&other)),
                }
            }
            Action::VerifyBackup(number) => match self.request(MaintenanceRequest::VerifyBackup(number)).await? {
                Body::MaintenanceAnswer(MaintenanceAnswer::VerifyBackup(result)) => Ok(Outcome::Verified(result)),
                other => Err(unexpected(&other)),
            },
            Action::Audit => match self.query(MaintenanceRequest::Audit).await? {
                Body::MaintenanceAnswer(MaintenanceAnswer::Audit(result)) => Ok(Outcome::Audit(result)),
                other => Err(unexpected(&other)),
            },
        }
    }
}
