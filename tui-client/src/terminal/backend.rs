//! The account task: it owns the key file, the signature key (once password
//! B was given) and the session with the center, carries out the
//! [`Effect`]s the screens ask for, and reports back with [`Update`]s.
//!
//! It runs on the tokio runtime, apart from the drawing loop: the screens
//! never wait for the network, and scrypt runs on the blocking pool. One
//! task handles one effect at a time, so the key file has a single writer;
//! long transfers (downloads, uploads) advance one chunk per turn between
//! other effects, so browsing stays possible while a file moves.
//!
//! While signed on, a small pump task takes notices off the session as they
//! come (the session stops reading the line when its notice queue is full),
//! and this task stores each as a receipt in the key file before
//! acknowledging it to the center.

use std::collections::VecDeque;
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use denbun_protocol::header::PartyKind;
use denbun_protocol::identity::CenterIdentity;
use denbun_protocol::keyfile::{Password, Profile};
use denbun_protocol::limits::{
    CATALOG_PARTS_MAX, CATALOG_PUBLISH_ITEMS_MAX, DELIVERY_CHUNK_BYTES_MAX, MAILBOX_BATCH_MAX, SEARCH_TEXT_BYTES_MAX,
};
use denbun_protocol::reject::RejectReason;
use denbun_protocol::telegram::{
    Body, CatalogItem, CatalogPageRequest, CatalogPublish, ContentBytes, DeliveryAcknowledgement, DeliveryFetch,
    DeliveryReadyNotice, DeliveryUpload, DigitalContent, ItemKind, PaymentClaim, PaymentInstruction, PaymentNotice,
    Refund, Registration, Shipment, StoreListRequest, Telegram, order_total,
};
use denbun_protocol::wire::{Amount, Blob, List, Text};
use ed25519_dalek::SigningKey;
use rand_core::{OsRng, RngCore};
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::app::{
    Effect, Event, Line, Mode, Outcome, OutcomeResult, RegisterRequest, ResendRequest, Transfer, Update,
    describe_request,
};
use super::model::{AccountView, CertificateView, OutboxRow, Record};
use crate::catalog_file::{self, DRAFT_FILE_NAME, DraftItem, DraftKind};
use crate::cli::{CARD_FILE_NAME, KEY_FILE_NAME};
use crate::delivery::{DeliveryKey, PLAINTEXT_CHUNK_BYTES};
use crate::keys::generate_member_keys_from_os;
use crate::services::{self, ServiceError, explain_rejection};
use crate::session::{
    Completed, Notice, Session, SessionConfig, SessionError, SubmitError, compose, date_of_unix_ms, run_outbox,
    send_composed, submit,
};
use crate::vault::{IdentityCardFile, NewVault, UnlockedVault, Vault, VaultConfig};

/// The file that remembers the number of the last application (not secret).
pub const APPLICATION_FILE_NAME: &str = "application.txt";
/// Where downloads are saved, inside the profile.
pub const DOWNLOADS_DIRECTORY: &str = "downloads";
/// Notices kept between the pump and this task.
pub const NOTICE_PUMP_MAX: usize = 4 * MAILBOX_BATCH_MAX;
/// The first wait before connecting again after the line dropped.
pub const RECONNECT_DELAY_MIN: Duration = Duration::from_secs(2);
/// The longest wait between attempts.
pub const RECONNECT_DELAY_MAX: Duration = Duration::from_secs(60);
/// How long signing off may take when quitting.
pub const SIGN_OFF_TIMEOUT: Duration = Duration::from_secs(3);
/// Most mailbox fetches after one sign-on (each brings up to a batch).
pub const MAILBOX_FETCHES_MAX: u32 = 1_000;

/// Where the account task finds things.
#[derive(Clone, Debug)]
pub struct BackendOptions {
    /// Member or store.
    pub mode: Mode,
    /// The profile directory.
    pub profile: PathBuf,
    /// The center's card given on the command line.
    pub card: Option<PathBuf>,
    /// An address that overrides the card's.
    pub address: Option<String>,
    /// Key-file parameters.
    pub vault_config: VaultConfig,
    /// Session deadlines.
    pub session_config: SessionConfig,
}

struct DownloadJob {
    ready: DeliveryReadyNotice,
    offset: u64,
    key: Option<DeliveryKey>,
    file: std::fs::File,
    part: PathBuf,
    hash: Sha256,
}

struct UploadJob {
    notice: PaymentNotice,
    item_id: u32,
    file: std::fs::File,
    key: DeliveryKey,
    ephemeral: [u8; 32],
    offset: u64,
}

enum Job {
    Download(Box<DownloadJob>),
    Upload(Box<UploadJob>),
}

/// The account task's state.
pub struct Backend {
    options: BackendOptions,
    events: mpsc::Sender<Event>,
    vault: Option<UnlockedVault>,
    key: Option<SigningKey>,
    session: Option<Arc<Session>>,
    signed_on: bool,
    new_notices: Option<mpsc::Receiver<Notice>>,
    pump: Option<JoinHandle<()>>,
    mailbox_remaining: u32,
    mailbox_fetches: u32,
    records: Vec<Record>,
    reconnect_at: Option<Instant>,
    reconnect_delay: Duration,
    jobs: VecDeque<Job>,
}

impl Drop for Backend {
    fn drop(&mut self) {
        if let Some(pump) = self.pump.take() {
            pump.abort();
        }
    }
}

fn short(error: &impl std::fmt::Display) -> String {
    error.to_string()
}

impl Backend {
    /// A task for `options` that reports to `events`.
    pub fn new(options: BackendOptions, events: mpsc::Sender<Event>) -> Self {
        Backend {
            options,
            events,
            vault: None,
            key: None,
            session: None,
            signed_on: false,
            new_notices: None,
            pump: None,
            mailbox_remaining: 0,
            mailbox_fetches: 0,
            records: Vec::new(),
            reconnect_at: None,
            reconnect_delay: RECONNECT_DELAY_MIN,
            jobs: VecDeque::new(),
        }
    }

    async fn send(&self, update: Update) {
        // The screens are gone when this fails: nothing left to tell.
        let _ = self.events.send(Event::Backend(update)).await;
    }

    async fn fail(&self, text: impl Into<String>) {
        self.send(Update::Failed(text.into())).await;
    }

    /// Runs until the screens quit (an [`Effect::Quit`] or a closed channel).
    pub async fn run(mut self, mut effects: mpsc::Receiver<Effect>) {
        let mut notices: Option<mpsc::Receiver<Notice>> = None;
        loop {
            if let Some(receiver) = self.new_notices.take() {
                notices = Some(receiver);
            }
            if self.session.is_none() {
                notices = None;
            }
            let session = self.session.clone();
            let wake = self.reconnect_at.unwrap_or_else(Instant::now);
            let reconnect = self.reconnect_at.is_some() && self.session.is_none();
            let has_jobs = !self.jobs.is_empty();
            tokio::select! {
                biased;
                effect = effects.recv() => match effect {
                    None | Some(Effect::Quit) => {
                        self.sign_off().await;
                        break;
                    }
                    Some(effect) => self.handle(effect).await,
                },
                notice = next_notice(&mut notices) => match notice {
                    Some(notice) => {
                        let mut batch = vec![notice];
                        while batch.len() < MAILBOX_BATCH_MAX {
                            match notices.as_mut().map(mpsc::Receiver::try_recv) {
                                Some(Ok(notice)) => batch.push(notice),
                                _ => break,
                            }
                        }
                        self.store_notices(batch).await;
                    }
                    None => notices = None,
                },
                reason = closed(session.as_deref()) => self.line_down(reason.to_string()).await,
                () = std::future::ready(()), if has_jobs => self.step_job().await,
                () = tokio::time::sleep_until(wake), if reconnect => self.connect(false).await,
            }
        }
    }

    async fn handle(&mut self, effect: Effect) {
        match effect {
            Effect::FetchGuide(topic) => {
                let result = match self.anonymous_session().await {
                    Ok(session) => services::fetch_guide(&session, topic).await,
                    Err(error) => Err(error),
                };
                match result {
                    Ok(text) => self.send(Update::Guide(Box::new(text))).await,
                    Err(error) => self.fail(short(&error)).await,
                }
            }
            Effect::Apply { applicant, personal, agreement_version } => {
                let result = match self.anonymous_session().await {
                    Ok(session) => services::apply(&session, applicant, personal, agreement_version).await,
                    Err(error) => Err(error),
                };
                match result {
                    Ok(accepted) => {
                        // Only the number: it is not secret, and it fills the wizard next time.
                        let _ = create_profile_directory(&self.options.profile).and_then(|()| {
                            std::fs::write(
                                self.options.profile.join(APPLICATION_FILE_NAME),
                                format!("{}\n", accepted.assigned),
                            )
                            .map_err(|error| error.to_string())
                        });
                        self.send(Update::Applied(Box::new(accepted))).await;
                    }
                    Err(error) => self.fail(short(&error)).await,
                }
            }
            Effect::Register(request) => self.register(*request).await,
            Effect::ResendRegistration(request) => self.resend_registration(*request).await,
            Effect::Unlock(password) => self.unlock(password).await,
            Effect::UnlockSigning(password) => self.unlock_signing(password).await,
            Effect::Connect => self.connect(true).await,
            Effect::TopUp { amount, channel } => {
                self.submit_business(denbun_protocol::telegram::CardRequest { amount, channel }.into()).await;
            }
            Effect::Pay { store, catalog_version, lines } => {
                let Some(total) = order_total(&lines) else {
                    self.fail("The order is empty or its total is over the limit of one payment.").await;
                    return;
                };
                let Ok(lines) = List::new(lines) else {
                    self.fail("The order has too many lines.").await;
                    return;
                };
                let transaction_number = OsRng.next_u64().max(1);
                let body = PaymentInstruction { transaction_number, store, catalog_version, lines, total };
                self.submit_business(body.into()).await;
            }
            Effect::ListStores(page) => match self.request(StoreListRequest { page }.into(), "the store list").await {
                Some(Body::StoreList(list)) => self.send(Update::Stores(Box::new(list))).await,
                Some(other) => self.fail(format!("Unexpected answer {}.", other.code())).await,
                None => {}
            },
            Effect::OpenCatalog { store, search, page } => {
                let search = Text::<SEARCH_TEXT_BYTES_MAX>::new(services::cut(&search, SEARCH_TEXT_BYTES_MAX))
                    .unwrap_or_default();
                match self.request(CatalogPageRequest { store, search, page }.into(), "the catalog").await {
                    Some(Body::CatalogPage(page)) => self.send(Update::Catalog(Box::new(page))).await,
                    Some(other) => self.fail(format!("Unexpected answer {}.", other.code())).await,
                    None => {}
                }
            }
            Effect::Statement(request) => match self.request(request.into(), "the statement").await {
                Some(Body::Statement(statement)) => self.send(Update::Statement(Box::new(statement))).await,
                Some(other) => self.fail(format!("Unexpected answer {}.", other.code())).await,
                None => {}
            },
            Effect::Download(ready) => self.start_download(*ready).await,
            Effect::Deliver { notice, item_id, file } => self.start_upload(*notice, item_id, &file).await,
            Effect::Ship { transaction_number, carrier, tracking } => {
                let (Ok(carrier), Ok(tracking)) = (Text::new(carrier), Text::new(tracking)) else {
                    self.fail("The carrier or tracking text is too long.").await;
                    return;
                };
                self.submit_business(Shipment { transaction_number, carrier, tracking }.into()).await;
            }
            Effect::Refund { transaction_number, amount, reason } => {
                let Ok(reason) = Text::new(reason) else {
                    self.fail("The reason is too long; shorten it.").await;
                    return;
                };
                self.submit_business(Refund { transaction_number, amount, reason }.into()).await;
            }
            Effect::Claim(transactions) => {
                let Some(transaction_numbers) = denbun_protocol::telegram::AscendingNumbers::new(transactions) else {
                    self.fail("A claim covers 1 to 200 orders.").await;
                    return;
                };
                self.submit_business(PaymentClaim { transaction_numbers }.into()).await;
            }
            Effect::Publish(items) => self.publish(items).await,
            Effect::SaveDraft(items) => {
                if let Err(error) = catalog_file::write(&self.options.profile.join(DRAFT_FILE_NAME), &items) {
                    self.fail(error).await;
                }
            }
            Effect::ImportDraft(path) => match catalog_file::read(&path) {
                Ok(items) => {
                    let count = items.len();
                    if let Err(error) = catalog_file::write(&self.options.profile.join(DRAFT_FILE_NAME), &items) {
                        self.fail(error).await;
                        return;
                    }
                    self.send(Update::Draft(items)).await;
                    self.send(Update::Info(format!("Imported {count} items from {}.", path.display()))).await;
                }
                Err(error) => self.fail(format!("{error}. The draft was left as it was.")).await,
            },
            Effect::ExportDraft(path, items) => match catalog_file::write(&path, &items) {
                Ok(()) => self.send(Update::Info(format!("Wrote {} items to {}.", items.len(), path.display()))).await,
                Err(error) => self.fail(error).await,
            },
            Effect::Quit => {}
        }
    }

    /// The center this terminal talks to: the key file's, else the card's.
    fn center(&self) -> Option<CenterIdentity> {
        if let Some(vault) = &self.vault {
            return Some(vault.center().clone());
        }
        let path = self.options.card.clone().unwrap_or_else(|| self.options.profile.join(CARD_FILE_NAME));
        CenterIdentity::read(&path).ok()
    }

    /// Where to reach `center`: `--center-address`, else the card's current
    /// address when the card names the same center (a center may move to a
    /// new port), else the address in the key file.
    fn address_for(&self, center: &CenterIdentity) -> String {
        if let Some(address) = &self.options.address {
            return address.clone();
        }
        let cards = [self.options.card.clone(), Some(self.options.profile.join(CARD_FILE_NAME))];
        for path in cards.into_iter().flatten() {
            if let Ok(card) = CenterIdentity::read(&path)
                && card.verification_key == center.verification_key
                && card.noise_public_key == center.noise_public_key
            {
                return card.address.to_string();
            }
        }
        center.address.to_string()
    }

    async fn anonymous_session(&mut self) -> Result<Arc<Session>, ServiceError> {
        if let Some(session) = &self.session {
            return Ok(session.clone());
        }
        let Some(center) = self.center() else {
            return Err(ServiceError::Build(
                "There is no center card: start again with --center FILE (the center.pub you were given).".to_owned(),
            ));
        };
        self.send(Update::Line(Line::Connecting)).await;
        let address = self.address_for(&center);
        match Session::connect(&address, &center, self.options.session_config).await {
            Ok(session) => {
                let session = Arc::new(session);
                self.session = Some(session.clone());
                self.send(Update::Line(Line::Connected)).await;
                Ok(session)
            }
            Err(error) => {
                self.send(Update::Line(Line::Offline)).await;
                Err(error.into())
            }
        }
    }

    fn view(&mut self) -> Option<AccountView> {
        let vault = self.vault.as_ref()?;
        let center = vault.center().clone();
        let history = vault.history();
        if history.len() < self.records.len() {
            self.records.clear();
        }
        for entry in &history[self.records.len()..] {
            self.records.push(Record {
                date: entry.date,
                party: entry.store.to_string(),
                goods: entry.goods.to_string(),
                amount: entry.amount,
                receipt: services::verified_receipt(&center, entry.receipt.as_slice()),
            });
        }
        let outbox = vault
            .outbox()
            .iter()
            .map(|entry| match Telegram::decode(entry.telegram.as_slice()) {
                Ok(telegram) => OutboxRow {
                    processing_number: entry.processing_number,
                    code: Some(telegram.code()),
                    what: describe_request(telegram.body()),
                    signed_on: date_of_unix_ms(telegram.header().sent_at_ms()),
                },
                Err(_) => OutboxRow {
                    processing_number: entry.processing_number,
                    code: None,
                    what: "unreadable entry".to_owned(),
                    signed_on: None,
                },
            })
            .collect();
        let party = vault.profile().party;
        let certificate = services::certificate_in_history(vault, party).map(|certificate| {
            let contents = vault.contents();
            CertificateView {
                party: certificate.party,
                name: certificate.name.to_string(),
                registered_on: super::app::date_of_unix_ms_text(certificate.registered_at_ms),
                verification_key: certificate.verification_key.as_bytes()[..8]
                    .iter()
                    .map(|byte| format!("{byte:02x}"))
                    .collect(),
                matches_key_file: certificate.verification_key.as_bytes() == &contents.verification_key
                    && certificate.delivery_key.as_bytes() == &contents.delivery_public_key
                    && certificate.party == party,
            }
        });
        Some(AccountView {
            party,
            name: vault.profile().name.to_string(),
            key_file: vault.path().to_owned(),
            records: self.records.clone(),
            outbox,
            certificate,
        })
    }

    async fn send_view(&mut self) {
        if let Some(view) = self.view() {
            self.send(Update::Account(Box::new(view))).await;
        }
    }

    async fn unlock(&mut self, password: Password) {
        let path = self.options.profile.join(KEY_FILE_NAME);
        let config = self.options.vault_config;
        let opened = tokio::task::spawn_blocking(move || Vault::open_with(&path, &password, config)).await;
        match opened {
            Ok(Ok(vault)) => {
                self.records.clear();
                self.vault = Some(vault);
                self.send_view().await;
                if self.vault.as_ref().is_some_and(|vault| vault.profile().party.kind() == PartyKind::Store) {
                    match catalog_file::read(&self.options.profile.join(DRAFT_FILE_NAME)) {
                        Ok(items) => self.send(Update::Draft(items)).await,
                        Err(error) => self.fail(error).await,
                    }
                }
                self.send(Update::Unlocked).await;
            }
            Ok(Err(error)) => self.send(Update::UnlockFailed(error.to_string())).await,
            Err(error) => self.send(Update::UnlockFailed(format!("Opening the key file failed: {error}"))).await,
        }
    }

    async fn unlock_signing(&mut self, password: Password) {
        let Some(vault) = self.vault.take() else {
            self.send(Update::SigningFailed("Unlock the key file with password A first.".to_owned())).await;
            return;
        };
        let opened = tokio::task::spawn_blocking(move || {
            let key = vault.signing_key(&password).map(|guard| guard.signing_key().clone());
            (vault, key)
        })
        .await;
        match opened {
            Ok((vault, result)) => {
                self.vault = Some(vault);
                match result {
                    Ok(key) => {
                        self.key = Some(key);
                        self.send(Update::SigningUnlocked).await;
                        if self.signed_on {
                            return;
                        }
                        // Signed on, notices come; the outbox goes out.
                        self.disconnect().await;
                        self.connect(true).await;
                    }
                    Err(error) => self.send(Update::SigningFailed(error.to_string())).await,
                }
            }
            Err(error) => self.send(Update::SigningFailed(format!("Opening the signature key failed: {error}"))).await,
        }
    }

    async fn disconnect(&mut self) {
        if let Some(pump) = self.pump.take() {
            pump.abort();
        }
        self.session = None;
        self.signed_on = false;
        self.new_notices = None;
    }

    /// Connects, signs on when signing is unlocked, sends the outbox and
    /// fetches the mailbox. `manual`: the person asked, so failures are
    /// shown; automatic retries only change the status line.
    async fn connect(&mut self, manual: bool) {
        self.reconnect_at = None;
        let was_down = self.reconnect_delay > RECONNECT_DELAY_MIN;
        let Some(center) = self.center() else {
            self.fail("There is no center card: start again with --center FILE.").await;
            return;
        };
        if self.session.is_none() {
            self.send(Update::Line(Line::Connecting)).await;
            let address = self.address_for(&center);
            match Session::connect(&address, &center, self.options.session_config).await {
                Ok(session) => self.session = Some(Arc::new(session)),
                Err(error) => {
                    self.send(Update::Line(Line::Down(short_reason(&error)))).await;
                    if manual {
                        self.fail(error.to_string()).await;
                    }
                    self.schedule_reconnect();
                    if self.reconnect_at.is_none() {
                        self.send(Update::Line(Line::Offline)).await;
                    }
                    return;
                }
            }
        }
        self.reconnect_delay = RECONNECT_DELAY_MIN;
        let Some(session) = self.session.clone() else { return };
        if !self.signed_on
            && let (Some(key), Some(vault)) = (self.key.clone(), self.vault.as_mut())
        {
            let party = vault.profile().party;
            let signed = match vault.allocate_processing_number() {
                Ok(number) => session.sign_on(&key, party, number).await.map_err(|error| error.to_string()),
                Err(error) => Err(error.to_string()),
            };
            match signed {
                Ok(answer) => {
                    self.signed_on = true;
                    self.mailbox_remaining = answer.mailbox_count;
                    self.mailbox_fetches = 0;
                    let (sender, receiver) = mpsc::channel(NOTICE_PUMP_MAX);
                    let pumped = session.clone();
                    self.pump = Some(tokio::spawn(async move {
                        while let Ok(notice) = pumped.next_notice().await {
                            if sender.send(notice).await.is_err() {
                                break;
                            }
                        }
                    }));
                    self.new_notices = Some(receiver);
                }
                Err(error) => self.fail(format!("Signing on failed: {error}")).await,
            }
        }
        let line = if self.signed_on { Line::SignedOn } else { Line::Connected };
        self.send(Update::Line(line)).await;
        if was_down {
            self.send(Update::Info("The line to the center is up again.".to_owned())).await;
        }
        self.send_outbox().await;
        self.fetch_mailbox().await;
    }

    fn schedule_reconnect(&mut self) {
        if self.key.is_none() && self.vault.as_ref().is_none_or(|vault| vault.outbox().is_empty()) {
            return;
        }
        self.reconnect_at = Some(Instant::now() + self.reconnect_delay);
        self.reconnect_delay = (self.reconnect_delay * 2).min(RECONNECT_DELAY_MAX);
    }

    async fn line_down(&mut self, reason: String) {
        self.disconnect().await;
        self.send(Update::Line(Line::Down(reason))).await;
        self.schedule_reconnect();
        if self.reconnect_at.is_none() {
            self.send(Update::Line(Line::Offline)).await;
        }
    }

    async fn fetch_mailbox(&mut self) {
        if !self.signed_on || self.mailbox_remaining == 0 || self.mailbox_fetches >= MAILBOX_FETCHES_MAX {
            return;
        }
        let (Some(session), Some(vault)) = (self.session.clone(), self.vault.as_mut()) else { return };
        self.mailbox_fetches += 1;
        let fetched = match vault.allocate_processing_number() {
            Ok(number) => {
                session.fetch_mailbox(MAILBOX_BATCH_MAX as u16, number).await.map_err(|error| error.to_string())
            }
            Err(error) => Err(error.to_string()),
        };
        match fetched {
            Ok(answer) => self.mailbox_remaining = answer.remaining,
            Err(error) => self.fail(format!("Fetching your notices failed: {error}")).await,
        }
    }

    async fn store_notices(&mut self, batch: Vec<Notice>) {
        let (Some(session), Some(vault)) = (self.session.clone(), self.vault.as_mut()) else { return };
        let mut highest = 0;
        let mut stored = 0;
        for notice in &batch {
            highest = highest.max(notice.sequence());
            let bytes = notice.telegram().as_bytes();
            if vault.history().iter().rev().any(|entry| entry.receipt.as_slice() == bytes) {
                continue;
            }
            let Some(entry) = services::notice_entry(notice.telegram()) else { continue };
            if let Err(error) = vault.add_history(entry) {
                // Not stored, so not acknowledged: the center keeps it.
                self.fail(format!("A notice could not be stored: {error}")).await;
                return;
            }
            stored += 1;
        }
        let acknowledged = match vault.allocate_processing_number() {
            Ok(number) => session.acknowledge(highest, number).await.map_err(|error| error.to_string()),
            Err(error) => Err(error.to_string()),
        };
        if let Err(error) = &acknowledged {
            self.fail(format!("The notices are stored, but acknowledging them failed ({error}); they come again."))
                .await;
        }
        self.send_view().await;
        if stored > 0 {
            self.send(Update::Notices(stored)).await;
        }
        if let Ok(answer) = acknowledged {
            self.mailbox_remaining = answer.remaining;
            self.fetch_mailbox().await;
        }
    }

    async fn sign_off(&mut self) {
        if !self.signed_on {
            return;
        }
        let (Some(session), Some(vault)) = (self.session.clone(), self.vault.as_mut()) else { return };
        if let Ok(number) = vault.allocate_processing_number() {
            let _ = tokio::time::timeout(SIGN_OFF_TIMEOUT, session.sign_off(number)).await;
        }
        self.disconnect().await;
    }

    async fn send_outbox(&mut self) {
        let Some(session) = self.session.clone() else { return };
        let Some(vault) = self.vault.as_mut() else { return };
        if vault.outbox().is_empty() {
            return;
        }
        let requests: Vec<(u64, Body)> = vault
            .outbox()
            .iter()
            .filter_map(|entry| {
                Some((entry.processing_number, Telegram::decode(entry.telegram.as_slice()).ok()?.into_body()))
            })
            .collect();
        let report = run_outbox(vault, &session).await;
        self.send_view().await;
        match report {
            Ok(report) => {
                for completed in report.completed {
                    let (number, result) = match completed {
                        Completed::Answered { processing_number, answer } => {
                            (processing_number, OutcomeResult::Answered(Box::new(answer.into_telegram().into_body())))
                        }
                        Completed::Refused { processing_number, rejection } => {
                            let request = requests.iter().find(|(number, _)| *number == processing_number);
                            let what =
                                request.map_or("this telegram".to_owned(), |(_, body)| the(&describe_request(body)));
                            (processing_number, OutcomeResult::Refused(explain_rejection(&rejection, &what)))
                        }
                    };
                    if let Some((_, request)) = requests.iter().find(|(known, _)| *known == number) {
                        self.send(Update::Outcome(Box::new(Outcome { request: request.clone(), result }))).await;
                    }
                }
                if let Some(error) = report.stopped {
                    self.fail(format!("{error} {} telegram(s) still wait in the outbox.", report.waiting)).await;
                }
            }
            Err(error) => self.fail(error.to_string()).await,
        }
    }

    /// Signs `body` into the outbox, then sends it if the line is up.
    async fn submit_business(&mut self, body: Body) {
        let what = describe_request(&body);
        let Some(key) = self.key.clone() else {
            self.fail(format!("{what}: unlock signing with password B first.")).await;
            return;
        };
        let Some(vault) = self.vault.as_mut() else { return };
        let (number, telegram) = match compose(vault, &key, body.clone()) {
            Ok(composed) => composed,
            Err(error) => {
                self.fail(format!("{what}: {error}")).await;
                return;
            }
        };
        self.send_view().await;
        let Some(session) = self.session.clone() else {
            self.send(Update::Done).await;
            self.send(Update::Outcome(Box::new(Outcome {
                request: body,
                result: OutcomeResult::Waiting(super::app::LINE_DOWN.to_owned()),
            })))
            .await;
            if self.reconnect_at.is_none() {
                self.reconnect_delay = RECONNECT_DELAY_MIN;
                self.schedule_reconnect();
            }
            return;
        };
        let Some(vault) = self.vault.as_mut() else { return };
        let result = send_composed(vault, &session, number, &telegram).await;
        self.send_view().await;
        self.send(Update::Done).await;
        let result = match result {
            Ok(answer) => OutcomeResult::Answered(Box::new(answer.into_telegram().into_body())),
            Err(SubmitError::Refused { rejection, .. }) => {
                OutcomeResult::Refused(explain_rejection(&rejection, &the(&what)))
            }
            Err(SubmitError::NotAnswered { source, .. }) => OutcomeResult::Waiting(source.to_string()),
            Err(error) => {
                self.fail(format!("{what}: {error}")).await;
                return;
            }
        };
        self.send(Update::Outcome(Box::new(Outcome { request: body, result }))).await;
    }

    /// A signed request outside the outbox; reports failures itself.
    async fn request(&mut self, body: Body, what: &str) -> Option<Body> {
        let Some(key) = self.key.clone() else {
            self.fail(format!("Fetching {what} needs password B: unlock signing first.")).await;
            return None;
        };
        let Some(session) = self.session.clone() else {
            self.fail(format!(
                "Cannot fetch {what}: the line is down. The terminal reconnects by itself; g tries now."
            ))
            .await;
            return None;
        };
        let vault = self.vault.as_mut()?;
        match services::request_signed(vault, &session, &key, body).await {
            Ok(answer) => Some(answer.into_telegram().into_body()),
            Err(ServiceError::Session(SessionError::Rejected(rejection))) => {
                self.fail(explain_rejection(&rejection, &format!("the request for {what}"))).await;
                None
            }
            Err(error) => {
                self.fail(format!("Fetching {what} failed: {error}")).await;
                None
            }
        }
    }

    async fn register(&mut self, request: RegisterRequest) {
        let RegisterRequest { number, code, personal, store, password_a, password_b, seed } = request;
        let Some(center) = self.center() else {
            self.send(Update::RegistrationFailed(
                "There is no center card: start again with --center FILE.".to_owned(),
            ))
            .await;
            return;
        };
        if let Err(error) = create_profile_directory(&self.options.profile) {
            self.send(Update::RegistrationFailed(error)).await;
            return;
        }
        self.progress("Making your keys", 1, 4).await;
        let keys = tokio::task::spawn_blocking(move || generate_member_keys_from_os(seed.as_ref())).await;
        let Ok(keys) = keys else {
            self.send(Update::RegistrationFailed("Making the keys failed; try again.".to_owned())).await;
            return;
        };
        let signing_key = SigningKey::from_bytes(keys.signing_seed.expose());
        let delivery_key = x25519_dalek::PublicKey::from(keys.delivery_public_key);
        let profile_name = match &store {
            Some(store) => Text::new(store.trade_name.as_str()).unwrap_or_else(|_| personal.name.clone()),
            None => personal.name.clone(),
        };
        self.progress("Deriving the keys of passwords A and B and writing the key file", 2, 4).await;
        let path = self.options.profile.join(KEY_FILE_NAME);
        let config = self.options.vault_config;
        let new = NewVault { profile: Profile { party: number, name: profile_name }, center: center.clone(), keys };
        let created = tokio::task::spawn_blocking(move || {
            Vault::create(&path, new, &password_a, &password_b, config, &mut OsRng)
        })
        .await;
        match created {
            Ok(Ok(vault)) => self.vault = Some(vault),
            Ok(Err(error)) => {
                self.send(Update::RegistrationFailed(format!("{error} Nothing was sent."))).await;
                return;
            }
            Err(error) => {
                self.send(Update::RegistrationFailed(format!("Writing the key file failed: {error}"))).await;
                return;
            }
        }
        self.key = Some(signing_key.clone());
        self.records.clear();
        keep_card_copy(&self.options.profile, &center);
        self.send_view().await;
        let registration = Registration {
            activation_code: code,
            personal,
            store,
            verification_key: signing_key.verifying_key(),
            delivery_key,
        };
        self.send_registration(registration).await;
    }

    async fn send_registration(&mut self, registration: Registration) {
        self.progress("Connecting to the center", 3, 4).await;
        let session = match self.anonymous_session().await {
            Ok(session) => session,
            Err(error) => {
                self.send(Update::RegistrationFailed(format!(
                    "{error} Your key file is kept: the registration waits in its outbox and is sent when you try \
                     again."
                )))
                .await;
                return;
            }
        };
        self.progress("Sending the signed registration", 4, 4).await;
        let (Some(key), Some(vault)) = (self.key.clone(), self.vault.as_mut()) else { return };
        let result = submit(vault, &session, &key, registration).await;
        self.send_view().await;
        match result {
            Ok(answer) => match answer.body() {
                Body::RegistrationCertificate(_) => {
                    let Some(view) = self.view() else { return };
                    match view.certificate.clone() {
                        Some(certificate) => self.send(Update::Registered(Box::new(certificate))).await,
                        None => {
                            self.send(Update::RegistrationFailed(
                                "The certificate could not be kept in the history.".to_owned(),
                            ))
                            .await
                        }
                    }
                    self.connect(true).await;
                }
                other => {
                    self.send(Update::RegistrationFailed(format!("Unexpected answer {}.", other.code()))).await;
                }
            },
            Err(SubmitError::Refused { rejection, .. }) => {
                let text = explain_rejection(&rejection, "your registration");
                self.send(Update::RegistrationFailed(format!("{text} Your key file and keys are kept."))).await;
            }
            Err(error) => {
                self.send(Update::RegistrationFailed(format!("{error} Your key file is kept; try again."))).await;
            }
        }
    }

    async fn resend_registration(&mut self, request: ResendRequest) {
        let ResendRequest { code, personal, store, password_b } = request;
        if self.key.is_none() {
            let Some(password) = password_b else {
                self.send(Update::RegistrationFailed("Type password B.".to_owned())).await;
                return;
            };
            self.unlock_signing_quietly(password).await;
            if self.key.is_none() {
                return;
            }
        }
        // A registration still in the outbox goes first: it may be answered already.
        if self.vault.as_ref().is_some_and(|vault| !vault.outbox().is_empty())
            && let Ok(session) = self.anonymous_session().await
            && let Some(vault) = self.vault.as_mut()
        {
            let _ = run_outbox(vault, &session).await;
            if let Some(certificate) = self.view().and_then(|view| view.certificate) {
                self.send_view().await;
                self.send(Update::Registered(Box::new(certificate))).await;
                self.connect(true).await;
                return;
            }
        }
        let (Some(key), Some(vault)) = (self.key.clone(), self.vault.as_ref()) else { return };
        let Ok(verification_key) = ed25519_dalek::VerifyingKey::from_bytes(&vault.contents().verification_key) else {
            self.send(Update::RegistrationFailed("The key file's verification key is damaged.".to_owned())).await;
            return;
        };
        debug_assert_eq!(key.verifying_key(), verification_key);
        let delivery_key = x25519_dalek::PublicKey::from(vault.contents().delivery_public_key);
        let registration = Registration { activation_code: code, personal, store, verification_key, delivery_key };
        self.send_registration(registration).await;
    }

    async fn unlock_signing_quietly(&mut self, password: Password) {
        let Some(vault) = self.vault.take() else { return };
        let opened = tokio::task::spawn_blocking(move || {
            let key = vault.signing_key(&password).map(|guard| guard.signing_key().clone());
            (vault, key)
        })
        .await;
        match opened {
            Ok((vault, Ok(key))) => {
                self.vault = Some(vault);
                self.key = Some(key);
            }
            Ok((vault, Err(error))) => {
                self.vault = Some(vault);
                self.send(Update::RegistrationFailed(error.to_string())).await;
            }
            Err(error) => self.send(Update::RegistrationFailed(error.to_string())).await,
        }
    }

    async fn progress(&self, label: &str, done: u64, total: u64) {
        self.send(Update::Progress { label: label.to_owned(), progress: Some((done, total)) }).await;
    }

    async fn publish(&mut self, items: Vec<DraftItem>) {
        let Some(store) = self
            .vault
            .as_ref()
            .and_then(|vault| denbun_protocol::header::StoreNumber::try_from(vault.profile().party).ok())
        else {
            self.fail("Only a store publishes a catalog.").await;
            return;
        };
        // Digital items: size and SHA-256 of their files, read off this task.
        let files = items.clone();
        let catalog = tokio::task::spawn_blocking(move || catalog_items(&files)).await;
        let catalog = match catalog {
            Ok(Ok(catalog)) => catalog,
            Ok(Err(error)) => {
                self.fail(format!("{error} Nothing was published.")).await;
                return;
            }
            Err(error) => {
                self.fail(format!("Reading the item files failed: {error}")).await;
                return;
            }
        };
        let current = if self.session.is_some() {
            let empty = Text::new("").unwrap_or_default();
            match self.request_quietly(CatalogPageRequest { store, search: empty, page: 0 }.into()).await {
                Ok(Body::CatalogPage(page)) => page.catalog_version,
                Ok(_) => 0,
                Err(SessionError::Rejected(rejection))
                    if matches!(rejection.reason, RejectReason::NotFound | RejectReason::UnknownStoreOrItem) =>
                {
                    0
                }
                Err(SessionError::Rejected(rejection)) => {
                    self.fail(explain_rejection(&rejection, "the catalog")).await;
                    return;
                }
                Err(error) => {
                    self.fail(format!("Cannot learn your current catalog version: {error}")).await;
                    return;
                }
            }
        } else {
            self.fail("Publishing needs the line: the terminal reconnects by itself; g tries now.").await;
            return;
        };
        let version = current.saturating_add(1);
        let parts: Vec<Vec<CatalogItem>> = catalog.chunks(CATALOG_PUBLISH_ITEMS_MAX).map(<[_]>::to_vec).collect();
        let part_count = parts.len().max(1);
        if part_count > CATALOG_PARTS_MAX {
            self.fail("The catalog has more items than a catalog may hold.").await;
            return;
        }
        let parts = if parts.is_empty() { vec![Vec::new()] } else { parts };
        for (index, items) in parts.into_iter().enumerate() {
            let Ok(items) = List::new(items) else { return };
            let body = CatalogPublish { version, part_index: index as u16, part_count: part_count as u16, items };
            self.send(Update::Progress {
                label: format!("Publishing catalog version {version}"),
                progress: Some((index as u64, part_count as u64)),
            })
            .await;
            self.submit_business(body.into()).await;
        }
        self.send(Update::Done).await;
    }

    async fn request_quietly(&mut self, body: Body) -> Result<Body, SessionError> {
        self.request_telegram(body).await.map(Telegram::into_body)
    }

    /// A signed request outside the outbox; the center's whole signed answer.
    async fn request_telegram(&mut self, body: Body) -> Result<Telegram, SessionError> {
        let (Some(key), Some(session)) = (self.key.clone(), self.session.clone()) else {
            return Err(SessionError::NotSignedOn);
        };
        let Some(vault) = self.vault.as_mut() else { return Err(SessionError::NotSignedOn) };
        match services::request_signed(vault, &session, &key, body).await {
            Ok(answer) => Ok(answer.into_telegram()),
            Err(ServiceError::Session(error)) => Err(error),
            Err(other) => Err(SessionError::LineDown(crate::session::DownReason::Protocol(other.to_string()))),
        }
    }

    async fn start_download(&mut self, ready: DeliveryReadyNotice) {
        let key = (ready.transaction_number, ready.item_id);
        let directory = self.options.profile.join(DOWNLOADS_DIRECTORY);
        let part = directory.join(format!("{}-{}.part", ready.transaction_number, ready.item_id));
        let opened = create_profile_directory(&directory).and_then(|()| {
            std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(&part)
                .map_err(|error| format!("Cannot write {}: {error}", part.display()))
        });
        match opened {
            Ok(file) => self.jobs.push_back(Job::Download(Box::new(DownloadJob {
                ready,
                offset: 0,
                key: None,
                file,
                part,
                hash: Sha256::new(),
            }))),
            Err(error) => self.send(Update::Transfer { key, state: Transfer::Failed(error) }).await,
        }
    }

    async fn start_upload(&mut self, notice: PaymentNotice, item_id: u32, path: &Path) {
        let key = (notice.transaction_number, item_id);
        let prepared = (|| {
            let file = std::fs::File::open(path).map_err(|error| format!("Cannot read {}: {error}", path.display()))?;
            let bytes = file.metadata().map_err(|error| error.to_string())?.len();
            let content = ContentBytes::new(bytes)
                .ok_or_else(|| format!("{} is empty or larger than a delivery may be.", path.display()))?;
            let (delivery_key, ephemeral) = DeliveryKey::for_store(
                notice.member_delivery_key.as_bytes(),
                notice.transaction_number,
                item_id,
                content,
                &mut OsRng,
            )
            .map_err(|error| error.to_string())?;
            Ok::<_, String>((file, delivery_key, ephemeral))
        })();
        match prepared {
            Ok((file, delivery_key, ephemeral)) => {
                let total = delivery_key.sealed_bytes();
                self.jobs.push_back(Job::Upload(Box::new(UploadJob {
                    notice,
                    item_id,
                    file,
                    key: delivery_key,
                    ephemeral,
                    offset: 0,
                })));
                self.send(Update::Transfer { key, state: Transfer::Moving { done: 0, total } }).await;
            }
            Err(error) => {
                self.send(Update::Done).await;
                self.send(Update::Transfer { key, state: Transfer::Failed(error) }).await;
            }
        }
    }

    async fn step_job(&mut self) {
        let Some(job) = self.jobs.pop_front() else { return };
        match job {
            Job::Download(job) => self.step_download(job).await,
            Job::Upload(job) => self.step_upload(job).await,
        }
    }

    async fn step_download(&mut self, mut job: Box<DownloadJob>) {
        let key = (job.ready.transaction_number, job.ready.item_id);
        let fetch = DeliveryFetch { transaction_number: key.0, item_id: key.1, offset: job.offset };
        let chunk = match self.request_quietly(fetch.into()).await {
            Ok(Body::DeliveryChunk(chunk)) => chunk,
            Ok(other) => return self.download_failed(key, format!("Unexpected answer {}.", other.code())).await,
            Err(SessionError::Rejected(rejection)) => {
                return self.download_failed(key, explain_rejection(&rejection, "the download")).await;
            }
            Err(error) => {
                return self
                    .download_failed(key, format!("The download stopped: {error} Press Enter on it to start again."))
                    .await;
            }
        };
        if chunk.sealed_bytes != job.ready.sealed_bytes || chunk.offset != job.offset {
            return self
                .download_failed(key, "The center sent a chunk that does not fit this delivery.".to_owned())
                .await;
        }
        if job.key.is_none() {
            let Some(vault) = self.vault.as_ref() else { return };
            match DeliveryKey::for_member(
                &vault.contents().delivery_secret_key,
                chunk.ephemeral_key.as_bytes(),
                key.0,
                key.1,
                chunk.sealed_bytes,
            ) {
                Ok(delivery_key) => job.key = Some(delivery_key),
                Err(error) => return self.download_failed(key, error.to_string()).await,
            }
        }
        let Some(delivery_key) = &job.key else { return };
        let index = job.offset / DELIVERY_CHUNK_BYTES_MAX as u64;
        let plaintext = match delivery_key.open_chunk(index, chunk.chunk.as_slice()) {
            Ok(plaintext) => plaintext,
            Err(error) => return self.download_failed(key, format!("{error}. Press Enter on it to try again.")).await,
        };
        if let Err(error) = job.file.write_all(&plaintext) {
            return self.download_failed(key, format!("Cannot write {}: {error}", job.part.display())).await;
        }
        job.hash.update(&plaintext);
        job.offset += chunk.chunk.as_slice().len() as u64;
        let total = job.ready.sealed_bytes;
        self.send(Update::Transfer { key, state: Transfer::Moving { done: job.offset, total } }).await;
        if job.offset < total {
            self.jobs.push_back(Job::Download(job));
            return;
        }
        let digest: [u8; 32] = job.hash.clone().finalize().into();
        let written = job.file.flush().and_then(|()| job.file.sync_all()).and_then(|()| job.file.stream_position());
        if written.ok() != Some(job.ready.content_bytes.get()) || digest != job.ready.content_sha256 {
            let _ = std::fs::remove_file(&job.part);
            return self
                .download_failed(
                    key,
                    "The downloaded goods do not match the catalog's size and SHA-256, so they were not kept and \
                     not acknowledged. Contact the store."
                        .to_owned(),
                )
                .await;
        }
        let target = job.part.with_extension("bin");
        if let Err(error) = std::fs::rename(&job.part, &target) {
            return self.download_failed(key, format!("Cannot save {}: {error}", target.display())).await;
        }
        self.send(Update::Transfer { key, state: Transfer::Finished { path: Some(target) } }).await;
        let acknowledgement =
            DeliveryAcknowledgement { transaction_number: key.0, item_id: key.1, content_sha256: digest };
        self.submit_business(acknowledgement.into()).await;
    }

    async fn download_failed(&mut self, key: (u64, u32), text: String) {
        self.send(Update::Transfer { key, state: Transfer::Failed(text) }).await;
    }

    async fn step_upload(&mut self, mut job: Box<UploadJob>) {
        let key = (job.notice.transaction_number, job.item_id);
        let index = job.offset / DELIVERY_CHUNK_BYTES_MAX as u64;
        let plain_bytes = match job.key.plaintext_bytes_of(index) {
            Ok(bytes) => bytes,
            Err(error) => return self.upload_failed(key, error.to_string()).await,
        };
        let mut plaintext = zeroize::Zeroizing::new(vec![0u8; plain_bytes]);
        let read = job
            .file
            .seek(SeekFrom::Start(index * PLAINTEXT_CHUNK_BYTES as u64))
            .and_then(|_| job.file.read_exact(&mut plaintext));
        if let Err(error) = read {
            return self.upload_failed(key, format!("Cannot read the item's file: {error}")).await;
        }
        let sealed = match job.key.seal_chunk(index, &plaintext) {
            Ok(sealed) => sealed,
            Err(error) => return self.upload_failed(key, error.to_string()).await,
        };
        let Ok(chunk) = Blob::new(sealed) else {
            return self.upload_failed(key, "A sealed chunk is too large.".to_owned()).await;
        };
        let upload = DeliveryUpload {
            transaction_number: key.0,
            item_id: key.1,
            ephemeral_key: x25519_dalek::PublicKey::from(job.ephemeral),
            sealed_bytes: job.key.sealed_bytes(),
            offset: job.offset,
            chunk,
        };
        let telegram = match self.request_telegram(upload.into()).await {
            Ok(telegram) => telegram,
            Err(SessionError::Rejected(rejection)) => {
                return self.upload_failed(key, explain_rejection(&rejection, "the upload")).await;
            }
            Err(error) => {
                return self
                    .upload_failed(key, format!("The upload stopped: {error} Deliver again to restart it."))
                    .await;
            }
        };
        let Body::DeliveryUploadAnswer(answer) = telegram.body().clone() else {
            return self.upload_failed(key, format!("Unexpected answer {}.", telegram.code())).await;
        };
        let total = job.key.sealed_bytes();
        if answer.complete {
            // The center's signed answer is the store's receipt that the goods are with it.
            if let (Some(vault), Some(mut entry)) = (self.vault.as_mut(), services::notice_entry(&telegram)) {
                entry.store = Text::new(job.notice.member.to_string()).unwrap_or_default();
                entry.goods =
                    Text::new(format!("uploaded item {} of transaction {}", key.1, key.0)).unwrap_or_default();
                if let Err(error) = vault.add_history(entry) {
                    self.fail(format!("The upload is complete, but its receipt could not be kept: {error}")).await;
                }
            }
            self.send_view().await;
            self.send(Update::Done).await;
            self.send(Update::Transfer { key, state: Transfer::Finished { path: None } }).await;
            return;
        }
        // The center says how much it holds: go on from there.
        if answer.received_bytes <= job.offset || answer.received_bytes >= total {
            return self
                .upload_failed(key, "The center did not take the chunk; deliver again to restart.".to_owned())
                .await;
        }
        job.offset = answer.received_bytes;
        self.send(Update::Progress { label: "Sealing and uploading".to_owned(), progress: Some((job.offset, total)) })
            .await;
        self.send(Update::Transfer { key, state: Transfer::Moving { done: job.offset, total } }).await;
        self.jobs.push_back(Job::Upload(job));
    }

    async fn upload_failed(&mut self, key: (u64, u32), text: String) {
        self.send(Update::Done).await;
        self.send(Update::Transfer { key, state: Transfer::Failed(text) }).await;
    }
}

/// "Top-up of 1,000 yen" → "the top-up of 1,000 yen".
fn the(what: &str) -> String {
    let mut characters = what.chars();
    match characters.next() {
        Some(first) => format!("the {}{}", first.to_lowercase(), characters.as_str()),
        None => "this telegram".to_owned(),
    }
}

fn short_reason(error: &SessionError) -> String {
    match error {
        SessionError::Connect { .. } | SessionError::ConnectTimeout { .. } => "cannot reach the center".to_owned(),
        SessionError::Handshake(_) => "secure session failed".to_owned(),
        _ => "no connection".to_owned(),
    }
}

async fn next_notice(notices: &mut Option<mpsc::Receiver<Notice>>) -> Option<Notice> {
    match notices {
        Some(receiver) => receiver.recv().await,
        None => std::future::pending().await,
    }
}

async fn closed(session: Option<&Session>) -> crate::session::DownReason {
    match session {
        Some(session) => session.closed().await,
        None => std::future::pending().await,
    }
}

fn create_profile_directory(directory: &Path) -> Result<(), String> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(directory)
        .map_err(|error| format!("Cannot create the directory {}: {error}", directory.display()))
}

fn keep_card_copy(profile: &Path, center: &CenterIdentity) {
    let path = profile.join(CARD_FILE_NAME);
    if !path.exists() {
        // Only a convenience for later runs without --center.
        let _ = center.write(&path);
    }
}

/// The catalog items of a draft, with each digital item's size and SHA-256
/// read from its file.
pub fn catalog_items(items: &[DraftItem]) -> Result<Vec<CatalogItem>, String> {
    items
        .iter()
        .map(|item| {
            item.check()?;
            let kind = match item.kind {
                DraftKind::MailOrder => ItemKind::MailOrder,
                DraftKind::Service => ItemKind::Service,
                DraftKind::Digital => {
                    let path = item.file.as_deref().ok_or_else(|| format!("item {} has no file", item.item_id))?;
                    let (bytes, digest) = hash_file(path)?;
                    let content_bytes = ContentBytes::new(bytes).ok_or_else(|| {
                        format!("item {}: {} is empty or larger than a delivery may be", item.item_id, path.display())
                    })?;
                    ItemKind::Digital(DigitalContent { content_bytes, content_sha256: digest })
                }
            };
            Ok(CatalogItem {
                item_id: item.item_id,
                title: Text::new(item.title.as_str()).map_err(|error| error.to_string())?,
                description: Text::new(item.description.as_str()).map_err(|error| error.to_string())?,
                price: Amount::new(item.price_yen).map_err(|error| error.to_string())?,
                kind,
            })
        })
        .collect()
}

/// Size and SHA-256 of a file.
pub fn hash_file(path: &Path) -> Result<(u64, [u8; 32]), String> {
    let mut file = std::fs::File::open(path).map_err(|error| format!("Cannot read {}: {error}", path.display()))?;
    let mut hash = Sha256::new();
    let mut buffer = vec![0u8; 64 * 1024];
    let mut total: u64 = 0;
    loop {
        let read = file.read(&mut buffer).map_err(|error| format!("Cannot read {}: {error}", path.display()))?;
        if read == 0 {
            break;
        }
        total += read as u64;
        if total > denbun_protocol::limits::DELIVERY_BYTES_MAX {
            return Err(format!("{} is larger than a delivery may be", path.display()));
        }
        hash.update(&buffer[..read]);
    }
    Ok((total, hash.finalize().into()))
}
