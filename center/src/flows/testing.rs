//! A test bench for the money flows: a real [`SledStorage`] in a temporary
//! directory, parties written straight into the register, and telegrams
//! signed by them and applied by the real [`Committer`] — one group per call,
//! with its idempotency, journal and single batch — on the test's thread,
//! under a clock the test sets.

use std::cell::Cell;
use std::collections::HashMap;
use std::sync::Arc;

use denbun_protocol::header::{PartyId, PartyKind};
use denbun_protocol::reject::RejectReason;
use denbun_protocol::sign::{CenterFingerprint, Signer};
use denbun_protocol::telegram::{
    AccountType, BankAccount, Body, CardAnswer, CardRequest, CatalogItem, CatalogPublish, Digits, FundingChannel,
    ItemKind, OrderLine, PaymentInstruction, Telegram, order_total,
};
use denbun_protocol::wire::{Amount, Blob, List, Text, encode_to_vec};
use ed25519_dalek::SigningKey;
use tokio::sync::{mpsc, oneshot};

use crate::audit::{AuditReport, audit};
use crate::config::Config;
use crate::ledger;
use crate::service::committer::{Committer, Inbound, Job, Reply};
use crate::service::registry::Registry;
use crate::service::tx::{Origin, Tx};
use crate::storage::ledger_records::AccountId;
use crate::storage::{Counter, PartyRecord, PartyStatus, SledStorage, Storage, Write, WriteBatch};

thread_local! {
    /// The committer's clock on this test's thread.
    static NOW_MS: Cell<u64> = const { Cell::new(0) };
}

fn clock() -> u64 {
    NOW_MS.with(Cell::get)
}

/// 2025-03-07 10:00 JST (01:00 UTC), a Friday.
pub const START_MS: u64 = 1_741_309_200_000;
/// A day in milliseconds.
pub const DAY_MS: u64 = 86_400_000;

/// One party's keys and next processing number.
struct Party {
    key: SigningKey,
    next_processing_number: u64,
}

/// A center under test.
pub struct Bench {
    _directory: tempfile::TempDir,
    pub storage: Arc<SledStorage>,
    pub center_key: SigningKey,
    pub fingerprint: CenterFingerprint,
    pub config: Config,
    parties: HashMap<PartyId, Party>,
    next_number: HashMap<PartyKind, u64>,
}

impl Default for Bench {
    fn default() -> Self {
        Self::new()
    }
}

impl Bench {
    /// A fresh center with the default configuration, at [`START_MS`].
    pub fn new() -> Self {
        Self::with_config(Config::default_config())
    }

    /// A fresh center with `config`.
    pub fn with_config(config: Config) -> Self {
        let directory = tempfile::tempdir().expect("a temporary directory");
        let storage = Arc::new(SledStorage::open(directory.path()).expect("sled opens"));
        let center_key = SigningKey::from_bytes(&[200; 32]);
        let fingerprint = CenterFingerprint::of(&center_key.verifying_key());
        NOW_MS.with(|now| now.set(START_MS));
        Bench {
            _directory: directory,
            storage,
            center_key,
            fingerprint,
            config,
            parties: HashMap::new(),
            next_number: HashMap::new(),
        }
    }

    /// Where the committer writes exported transfer files.
    pub fn payout_directory(&self) -> std::path::PathBuf {
        let directory = self._directory.path().join("payouts");
        std::fs::create_dir_all(&directory).expect("a payouts directory");
        directory
    }

    /// Sets the clock.
    pub fn set_time(&self, now_ms: u64) {
        NOW_MS.with(|now| now.set(now_ms));
    }

    /// Moves the clock on.
    pub fn advance(&self, ms: u64) {
        NOW_MS.with(|now| now.set(now.get() + ms));
    }

    /// The clock.
    pub fn now_ms(&self) -> u64 {
        clock()
    }

    fn register(&mut self, kind: PartyKind) -> PartyId {
        let number = self.next_number.entry(kind).or_insert(0);
        *number += 1;
        let party = PartyId::new(kind, *number).expect("small numbers");
        let seed = [
            kind as u8,
            *number as u8,
            7,
            7,
            7,
            7,
            7,
            7,
            7,
            7,
            7,
            7,
            7,
            7,
            7,
            7,
            1,
            2,
            3,
            4,
            5,
            6,
            7,
            8,
            9,
            10,
            11,
            12,
            13,
            14,
            15,
            16,
        ];
        let key = SigningKey::from_bytes(&seed);
        let account = BankAccount {
            bank_code: Digits::new("0005").expect("digits"),
            branch_code: Digits::new("123").expect("digits"),
            account_type: AccountType::Ordinary,
            account_number: Digits::new(&format!("{:07}", *number)).expect("digits"),
            holder_name: Text::new(format!("ﾃｽﾄ ｼｮｳﾃﾝ {number}")).expect("short"),
        };
        let record = PartyRecord {
            party,
            status: PartyStatus::Registered,
            name: Text::new(format!("{kind} {number} Yamada")).expect("short"),
            address: Text::new(format!("{number}-2-3 Chiyoda, Tokyo")).expect("short"),
            date_of_birth: denbun_protocol::wire::Date::new(1980, 4, 1),
            trade_name: (kind == PartyKind::Store).then(|| Text::new(format!("Shop {number}")).expect("short")),
            bank_account: if kind == PartyKind::Store {
                Blob::new(encode_to_vec(&account)).expect("fits")
            } else {
                Blob::default()
            },
            verification_key: Some(key.verifying_key().to_bytes()),
            delivery_key: Some([*number as u8; 32]),
            activation: None,
            applied_at_ms: clock(),
            registered_at_ms: clock(),
        };
        let counter = match kind {
            PartyKind::Member => Some(Counter::LastMember),
            PartyKind::Store => Some(Counter::LastStore),
            _ => None,
        };
        let mut batch = WriteBatch::default();
        batch.push(Write::Party(record));
        if let Some(counter) = counter {
            batch.push(Write::Counter(counter, *number));
        }
        self.storage.commit(&batch).expect("register write");
        self.parties.insert(party, Party { key, next_processing_number: 1 });
        party
    }

    /// A registered member.
    pub fn member(&mut self) -> PartyId {
        self.register(PartyKind::Member)
    }

    /// A registered store with a bank account.
    pub fn store(&mut self) -> PartyId {
        self.register(PartyKind::Store)
    }

    /// A registered operator.
    pub fn operator(&mut self) -> PartyId {
        self.register(PartyKind::Operator)
    }

    /// A request signed by `from` with its next processing number.
    pub fn sign(&mut self, from: PartyId, body: impl Into<Body>) -> Telegram {
        let fingerprint = self.fingerprint;
        let party = self.parties.get_mut(&from).expect("a party of this bench");
        let number = party.next_processing_number;
        party.next_processing_number += 1;
        Signer::new(from, &party.key, fingerprint).unwrap().request(number, clock(), body).unwrap()
    }

    /// A committer of this bench's center over `storage` (the bench's own,
    /// or a wrapper of it), telling `registry` of notices.
    pub fn committer(&self, storage: Arc<dyn Storage>, registry: Arc<Registry>) -> Committer {
        Committer {
            storage,
            signing_key: self.center_key.clone(),
            fingerprint: self.fingerprint,
            config: self.config.clone(),
            registry,
            mail_directory: None,
            payout_directory: Some(self.payout_directory()),
            clock,
            live: Arc::new(crate::service::live::Live::new(0)),
            backup: None,
        }
    }

    /// Applies telegrams as one group and returns their answers, in order.
    pub fn group(&mut self, telegrams: Vec<Telegram>) -> Vec<Telegram> {
        let committer = self.committer(self.storage.clone(), Arc::new(Registry::default()));
        let (sender, receiver) = mpsc::channel(telegrams.len().max(1));
        let mut replies: Vec<oneshot::Receiver<Reply>> = Vec::new();
        for telegram in telegrams {
            let (reply, answer) = oneshot::channel();
            let origin = Origin { session: 1, handshake_hash: [0; 32], peer: "test".to_owned() };
            let job = Job { origin, inbound: Inbound::Verified(Box::new(telegram)), reply: Some(reply) };
            sender.blocking_send(job).expect("the committer takes jobs");
            replies.push(answer);
        }
        drop(sender);
        committer.run(receiver).expect("the committer runs");
        replies
            .into_iter()
            .map(|mut reply| {
                let reply = reply.try_recv().expect("every job is answered");
                let answer = Telegram::decode(&reply.answer).expect("answers decode");
                answer.verify(&self.center_key.verifying_key(), &self.fingerprint).expect("answers are signed");
                answer
            })
            .collect()
    }

    /// Sends one telegram from `from` and returns the answer.
    pub fn send(&mut self, from: PartyId, body: impl Into<Body>) -> Telegram {
        let telegram = self.sign(from, body);
        self.apply(telegram)
    }

    /// Applies one signed telegram (a new one or a repeat) in its own group.
    pub fn apply(&mut self, telegram: Telegram) -> Telegram {
        self.group(vec![telegram]).pop().expect("one answer")
    }

    /// The notices waiting for `party`, decoded, oldest first.
    pub fn mailbox(&self, party: PartyId) -> Vec<Telegram> {
        self.storage
            .mailbox(party, 0, 1_000)
            .expect("mailbox read")
            .into_iter()
            .map(|notice| {
                let telegram = Telegram::decode(notice.telegram.as_slice()).expect("notices decode");
                telegram.verify(&self.center_key.verifying_key(), &self.fingerprint).expect("notices are signed");
                telegram
            })
            .collect()
    }

    /// Reads committed state through a [`Tx`].
    pub fn read<R>(&self, read: impl FnOnce(&mut Tx<'_>) -> R) -> R {
        let head = self.storage.journal_head().expect("journal head");
        let mut tx = Tx::new(self.storage.as_ref(), &self.center_key, head, clock());
        read(&mut tx)
    }

    /// A ledger account's balance.
    pub fn balance(&self, account: AccountId) -> u64 {
        self.read(|tx| ledger::balance_yen(tx, account).expect("ledger read"))
    }

    /// A member's stored value.
    pub fn stored_value(&self, member: PartyId) -> u64 {
        self.balance(AccountId::stored_value(member.try_into().expect("a member")))
    }

    /// A store's payable.
    pub fn payable(&self, store: PartyId) -> u64 {
        self.balance(AccountId::payable(store.try_into().expect("a store")))
    }

    /// The audit over everything so far.
    pub fn audit(&self) -> AuditReport {
        audit(self.storage.as_ref(), &self.center_key.verifying_key()).expect("the audit reads")
    }

    /// Asserts that the audit passes.
    pub fn assert_audit_passes(&self) {
        let report = self.audit();
        assert!(report.passed(), "{report}");
    }

    /// A member with a card of `amount_yen` through the credit company.
    pub fn funded_member(&mut self, amount_yen: u64) -> PartyId {
        let member = self.member();
        self.top_up(member, amount_yen);
        member
    }

    /// A card of `amount_yen` through the credit company.
    pub fn top_up(&mut self, member: PartyId, amount_yen: u64) {
        let answer = self.send(
            member,
            CardRequest { amount: Amount::new(amount_yen).unwrap(), channel: FundingChannel::CreditCompany },
        );
        assert!(matches!(answer.body(), Body::CardAnswer(CardAnswer::Issued(_))), "{answer:?}");
    }

    /// Publishes `items` as the store's next catalog version in one part.
    pub fn publish(&mut self, store: PartyId, version: u32, items: Vec<CatalogItem>) -> Telegram {
        self.send(
            store,
            CatalogPublish { version, part_index: 0, part_count: 1, items: List::new(items).expect("a small catalog") },
        )
    }

    /// A payment instruction for `lines` (item id, quantity, unit price).
    pub fn instruction(
        store: PartyId,
        transaction_number: u64,
        catalog_version: u32,
        lines: &[(u32, u16, u64)],
    ) -> PaymentInstruction {
        let lines: Vec<OrderLine> = lines
            .iter()
            .map(|&(item_id, quantity, unit_price)| OrderLine {
                item_id,
                quantity,
                unit_price: Amount::new(unit_price).unwrap(),
            })
            .collect();
        let total = order_total(&lines).expect("a payable order");
        PaymentInstruction {
            transaction_number,
            store: store.try_into().expect("a store"),
            catalog_version,
            lines: List::new(lines).expect("few lines"),
            total,
        }
    }
}

/// A catalog item.
pub fn item(item_id: u32, title: &str, price_yen: u64, kind: ItemKind) -> CatalogItem {
    CatalogItem {
        item_id,
        title: Text::new(title).unwrap(),
        description: Text::new(format!("{title}, a fine thing")).unwrap(),
        price: Amount::new(price_yen).unwrap(),
        kind,
    }
}

/// The reject reason of an answer (`None` if it was accepted).
pub fn rejected(answer: &Telegram) -> Option<RejectReason> {
    answer.header().reject_reason()
}

/// The reject's message.
pub fn reject_message(answer: &Telegram) -> String {
    match answer.body() {
        Body::Reject(reject) => reject.message.to_string(),
        other => panic!("expected a reject, got {other:?}"),
    }
}
