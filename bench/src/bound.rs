//! The bound: what the cryptography of one operation costs on this machine,
//! end to end, measured with the same number of threads as the load, and
//! the rate that cost alone allows.
//!
//! Each operation runs here exactly as the terminal and the center run it,
//! both sides in one loop and in memory — no socket, no storage, no
//! scheduler: the terminal signs its request and seals it, the center opens
//! it, decodes it and verifies it with the sender's key (already
//! decompressed, as a key cache would hold it), signs its answer and any
//! notice and seals them, and the terminals open, decode and verify those.
//! A sign-on adds the Noise NK handshake (both sides, ephemeral keys from the
//! operating system, as on the line). Encoding and decoding ride along; they
//! cost little beside Ed25519.
//!
//! With `threads` threads doing this at once, `operations_per_second` is the
//! most the machine could settle if it did nothing else. The load's rate as
//! a fraction of it says how much of the machine goes to everything else.

use std::time::{Duration, Instant};

use denbun_protocol::header::{Code, Header, PartyId};
use denbun_protocol::session::{CenterNoiseKey, Initiator, Responder, Transport};
use denbun_protocol::sign::{CenterFingerprint, Signer};
use denbun_protocol::telegram::network::{Echo, EchoAnswer, MailboxAck, MailboxAckAnswer, SignOn, SignOnAnswer};
use denbun_protocol::telegram::{
    Body, CardAnswer, CardIssueNotice, CardIssued, CatalogPage, FundingChannel, IssuedCard, PaymentAnswer,
    PaymentNotice, RefundAnswer, RefundNotice, Telegram,
};
use denbun_protocol::wire::{Amount, List, Text, Yen};
use ed25519_dalek::{SigningKey, VerifyingKey};
use rand_core::OsRng;
use serde::Serialize;

use crate::workload;

/// Iterations one thread runs at most per measurement (the time limit
/// normally ends it first).
const ITERATIONS_MAX: u64 = 10_000_000;

/// One kind of operation whose cryptography the bound measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Operation {
    /// Handshake, sign-on and its answer.
    SignOn,
    /// Echo and its answer.
    Echo,
    /// Payment instruction, its answer and the store's payment notice.
    Payment,
    /// Card request (credit company), its answer and the card issue notice.
    TopUp,
    /// Catalog page request and the page (eight items).
    CatalogPage,
    /// Refund, its answer and the member's refund notice.
    Refund,
    /// Mailbox acknowledgement and its answer.
    MailboxAck,
}

impl Operation {
    /// Every operation.
    pub const ALL: [Operation; 7] = [
        Operation::SignOn,
        Operation::Echo,
        Operation::Payment,
        Operation::TopUp,
        Operation::CatalogPage,
        Operation::Refund,
        Operation::MailboxAck,
    ];

    /// The request code that starts it.
    pub fn code(self) -> Code {
        match self {
            Operation::SignOn => Code::SIGN_ON,
            Operation::Echo => Code::ECHO,
            Operation::Payment => Code::PAYMENT_INSTRUCTION,
            Operation::TopUp => Code::CARD_REQUEST,
            Operation::CatalogPage => Code::CATALOG_PAGE_REQUEST,
            Operation::Refund => Code::REFUND,
            Operation::MailboxAck => Code::MAILBOX_ACK,
        }
    }

    /// The operation a request code starts, if the bound knows it.
    pub fn of_code(code: Code) -> Option<Operation> {
        Operation::ALL.into_iter().find(|operation| operation.code() == code.base())
    }
}

/// The measured bound of one operation.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Bound {
    /// Operations per second the cryptography alone allows.
    pub operations_per_second: f64,
    /// Threads that ran it at once.
    pub threads: usize,
}

/// Measures `operation` on `threads` threads for `duration`.
pub fn measure(operation: Operation, threads: usize, duration: Duration) -> Bound {
    let threads = threads.max(1);
    let started = Instant::now();
    let iterations: u64 = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|index| {
                std::thread::Builder::new()
                    .name(format!("bench-bound-{index}"))
                    .spawn_scoped(scope, move || {
                        let mut bench = Bench::new();
                        let deadline = started + duration;
                        // At least one: a loaded machine may start the thread late.
                        let mut done = 0u64;
                        loop {
                            bench.run(operation);
                            done += 1;
                            if done >= ITERATIONS_MAX || Instant::now() >= deadline {
                                break done;
                            }
                        }
                    })
                    .expect("spawn a bound thread")
            })
            .collect();
        workers.into_iter().map(|worker| worker.join().expect("a bound thread")).sum()
    });
    Bound { operations_per_second: iterations as f64 / started.elapsed().as_secs_f64(), threads }
}

/// The bound of a mix: `counts` operations of each kind, each kind's own
/// bound given. The machine time the mix needs is the sum of each kind's
/// count over its rate.
pub fn of_mix(counts: &[(Operation, u64)], bounds: &[(Operation, Bound)]) -> Option<Bound> {
    let mut seconds = 0.0;
    let mut total = 0u64;
    let mut threads = 0;
    for (operation, count) in counts {
        let bound = bounds.iter().find(|(measured, _)| measured == operation)?.1;
        seconds += *count as f64 / bound.operations_per_second;
        total += count;
        threads = bound.threads;
    }
    (total > 0 && seconds > 0.0).then(|| Bound { operations_per_second: total as f64 / seconds, threads })
}

/// Two ends of one session, after a handshake in memory.
struct Pair {
    terminal: Transport,
    center: Transport,
}

impl Pair {
    fn new(center_key: &CenterNoiseKey) -> Pair {
        let (awaiting, request) = Initiator::new(&center_key.public_key()).start(&mut OsRng).expect("handshake");
        let (center, response) = Responder::new(center_key).respond(&request, &mut OsRng).expect("handshake");
        Pair { terminal: awaiting.finish(&response).expect("handshake"), center }
    }

    /// The terminal seals, the center opens.
    fn send_to_center(&mut self, telegram: &Telegram) -> Vec<u8> {
        let sealed = self.terminal.seal(telegram.as_bytes()).expect("seal");
        self.center.open(&sealed).expect("open")
    }

    /// The center seals, the terminal opens.
    fn send_to_terminal(&mut self, telegram: &Telegram) -> Vec<u8> {
        let sealed = self.center.seal(telegram.as_bytes()).expect("seal");
        self.terminal.open(&sealed).expect("open")
    }
}

/// One thread's keys and sessions.
struct Bench {
    center_key: SigningKey,
    center_verification_key: VerifyingKey,
    noise_key: CenterNoiseKey,
    fingerprint: CenterFingerprint,
    member: PartyId,
    member_key: SigningKey,
    member_verification_key: VerifyingKey,
    store: PartyId,
    store_key: SigningKey,
    store_verification_key: VerifyingKey,
    member_line: Pair,
    store_line: Pair,
    processing_number: u64,
}

impl Bench {
    fn new() -> Bench {
        let center_key = SigningKey::generate(&mut OsRng);
        let noise_key = CenterNoiseKey::generate(&mut OsRng);
        let member_key = SigningKey::generate(&mut OsRng);
        let store_key = SigningKey::generate(&mut OsRng);
        Bench {
            center_verification_key: center_key.verifying_key(),
            fingerprint: CenterFingerprint::of(&center_key.verifying_key()),
            member: PartyId::member(1_001).expect("a member"),
            member_verification_key: member_key.verifying_key(),
            store: PartyId::store(7).expect("a store"),
            store_verification_key: store_key.verifying_key(),
            member_line: Pair::new(&noise_key),
            store_line: Pair::new(&noise_key),
            center_key,
            noise_key,
            member_key,
            store_key,
            processing_number: 0,
        }
    }

    fn run(&mut self, operation: Operation) {
        self.processing_number += 1;
        match operation {
            Operation::SignOn => self.sign_on(),
            Operation::Echo => {
                let header = self.member_request(Echo {});
                self.member_answer(&header, EchoAnswer {});
            }
            Operation::Payment => {
                let number = self.processing_number;
                let instruction = workload::payment(self.store, number, 1);
                let header = self.member_request(instruction.clone());
                self.member_answer(
                    &header,
                    PaymentAnswer { transaction_number: number, total: instruction.total, balance: yen(99_999) },
                );
                let notice = PaymentNotice {
                    transaction_number: number,
                    member: denbun_protocol::header::MemberNumber::new(self.member.number()).expect("a member"),
                    member_delivery_key: x25519_dalek::PublicKey::from([9; 32]),
                    catalog_version: 1,
                    lines: instruction.lines,
                    total: instruction.total,
                    paid_at_ms: 1,
                };
                self.store_notice(notice);
            }
            Operation::TopUp => {
                let header = self.member_request(workload::top_up(workload::TOP_UP_YEN));
                let card = IssuedCard {
                    card_number: self.processing_number,
                    face_value: amount(workload::TOP_UP_YEN),
                    issued_at_ms: 1,
                };
                self.member_answer(
                    &header,
                    CardAnswer::Issued(CardIssued { card: card.clone(), balance: yen(99_999) }),
                );
                self.member_notice(CardIssueNotice {
                    card,
                    channel: FundingChannel::CreditCompany,
                    reference: None,
                    balance: yen(99_999),
                });
            }
            Operation::CatalogPage => {
                let header = self.member_request(workload::catalog_page(self.store));
                let page = CatalogPage {
                    store: denbun_protocol::header::StoreNumber::new(self.store.number()).expect("a store"),
                    catalog_version: 1,
                    page: 0,
                    page_count: 1,
                    items: List::new(workload::catalog_items()).expect("fits"),
                };
                self.member_answer(&header, page);
            }
            Operation::Refund => {
                let refund = workload::refund(self.processing_number);
                let request = Signer::new(self.store, &self.store_key, self.fingerprint)
                    .expect("a store signs")
                    .request(self.processing_number, 1, refund.clone())
                    .expect("a refund");
                let opened = self.store_line.send_to_center(&request);
                let received = Telegram::decode(&opened).expect("decodes");
                received.verify(&self.store_verification_key, &self.fingerprint).expect("verifies");
                let answer = RefundAnswer {
                    transaction_number: refund.transaction_number,
                    amount: refund.amount,
                    refunded_total: refund.amount,
                };
                let answer = Signer::center(&self.center_key).answer(received.header(), 1, answer).expect("answer");
                let opened = self.store_line.send_to_terminal(&answer);
                Telegram::decode(&opened)
                    .expect("decodes")
                    .verify(&self.center_verification_key, &self.fingerprint)
                    .expect("verifies");
                self.member_notice(RefundNotice {
                    transaction_number: refund.transaction_number,
                    store: denbun_protocol::header::StoreNumber::new(self.store.number()).expect("a store"),
                    amount: refund.amount,
                    reason: refund.reason,
                    balance: yen(99_999),
                });
            }
            Operation::MailboxAck => {
                let header = self.member_request(MailboxAck { up_to_sequence: self.processing_number });
                self.member_answer(&header, MailboxAckAnswer { removed: 16, remaining: 0 });
            }
        }
    }

    fn sign_on(&mut self) {
        let (awaiting, request) = Initiator::new(&self.noise_key.public_key()).start(&mut OsRng).expect("handshake");
        let (center, response) = Responder::new(&self.noise_key).respond(&request, &mut OsRng).expect("handshake");
        let terminal = awaiting.finish(&response).expect("handshake");
        let mut line = Pair { terminal, center };
        let hash = line.terminal.handshake_hash();
        let sign_on = Signer::new(self.member, &self.member_key, self.fingerprint)
            .expect("a member signs")
            .sign_on(self.processing_number, 1, SignOn { software_version: Text::truncated("denbun-bench") }, &hash)
            .expect("a sign-on");
        let opened = line.send_to_center(&sign_on);
        let received = Telegram::decode(&opened).expect("decodes");
        let center_hash = line.center.handshake_hash();
        received.verify_sign_on(&self.member_verification_key, &self.fingerprint, &center_hash).expect("verifies");
        let answer = Signer::center(&self.center_key)
            .answer(received.header(), 1, SignOnAnswer { mailbox_count: 0, center_time_ms: 1 })
            .expect("answer");
        let opened = line.send_to_terminal(&answer);
        Telegram::decode(&opened)
            .expect("decodes")
            .verify(&self.center_verification_key, &self.fingerprint)
            .expect("verifies");
    }

    /// The member signs and seals; the center opens, decodes and verifies.
    /// Returns the header the center answers.
    fn member_request(&mut self, body: impl Into<Body>) -> Header {
        let request = Signer::new(self.member, &self.member_key, self.fingerprint)
            .expect("a member signs")
            .request(self.processing_number, 1, body)
            .expect("a request");
        let opened = self.member_line.send_to_center(&request);
        let received = Telegram::decode(&opened).expect("decodes");
        received.verify(&self.member_verification_key, &self.fingerprint).expect("verifies");
        *received.header()
    }

    /// The center signs and seals its answer; the member opens and verifies it.
    fn member_answer(&mut self, request: &Header, body: impl Into<Body>) {
        let answer = Signer::center(&self.center_key).answer(request, 1, body).expect("an answer");
        let opened = self.member_line.send_to_terminal(&answer);
        Telegram::decode(&opened)
            .expect("decodes")
            .verify(&self.center_verification_key, &self.fingerprint)
            .expect("verifies");
    }

    fn member_notice(&mut self, body: impl Into<Body>) {
        let notice =
            Signer::center(&self.center_key).notice(self.member, self.processing_number, 1, body).expect("a notice");
        let opened = self.member_line.send_to_terminal(&notice);
        Telegram::decode(&opened)
            .expect("decodes")
            .verify(&self.center_verification_key, &self.fingerprint)
            .expect("verifies");
    }

    fn store_notice(&mut self, body: impl Into<Body>) {
        let notice =
            Signer::center(&self.center_key).notice(self.store, self.processing_number, 1, body).expect("a notice");
        let opened = self.store_line.send_to_terminal(&notice);
        Telegram::decode(&opened)
            .expect("decodes")
            .verify(&self.center_verification_key, &self.fingerprint)
            .expect("verifies");
    }
}

fn yen(value: u64) -> Yen {
    Yen::new(value).expect("in range")
}

fn amount(value: u64) -> Amount {
    Amount::new(value).expect("in range")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_runs_its_whole_exchange_and_has_a_rate() {
        for operation in Operation::ALL {
            let bound = measure(operation, 1, Duration::from_millis(5));
            assert!(bound.operations_per_second > 0.0, "{operation:?}");
            assert_eq!(Operation::of_code(operation.code()), Some(operation));
        }
    }

    #[test]
    fn a_mix_takes_the_machine_time_of_its_parts() {
        let bounds = [
            (Operation::Payment, Bound { operations_per_second: 1_000.0, threads: 2 }),
            (Operation::Echo, Bound { operations_per_second: 3_000.0, threads: 2 }),
        ];
        let mix = of_mix(&[(Operation::Payment, 100), (Operation::Echo, 300)], &bounds).unwrap();
        // 0.1 s + 0.1 s for 400 operations.
        assert!((mix.operations_per_second - 2_000.0).abs() < 1e-6);
        assert!(of_mix(&[(Operation::Refund, 1)], &bounds).is_none());
        assert!(of_mix(&[], &bounds).is_none());
    }
}
