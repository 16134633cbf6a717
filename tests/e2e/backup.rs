//! The backup center, rehearsed with the real binary (issue 8): a center
//! serving with `--backup-dir` takes a backup through the operator's 9800
//! telegram, goes on taking payments (only the shipped journal has those),
//! then loses its whole data directory. `verify-backup` checks the backup,
//! `restore` rebuilds the center, `audit` passes, and the restored center
//! answers every repeated telegram byte for byte as the lost one did, before
//! and after the backup.

use std::path::Path;

use denbun_protocol::header::{Code, StoreNumber};
use denbun_protocol::telegram::card::{CardAnswer, CardRequest, FundingChannel};
use denbun_protocol::telegram::catalog::{CatalogItem, CatalogPublish, ItemKind};
use denbun_protocol::telegram::payment::{OrderLine, PaymentInstruction};
use denbun_protocol::telegram::registration::Applicant;
use denbun_protocol::telegram::{Body, Telegram};
use denbun_protocol::wire::{Amount, List, Text};
use denbun_tests::{ChildCenter, RawTerminal, TestParty};

const ITEM_PRICE_YEN: u64 = 300;
const TOP_UP_YEN: u64 = 5_000;

fn payment(store: StoreNumber, transaction_number: u64) -> PaymentInstruction {
    let line = OrderLine { item_id: 1, quantity: 1, unit_price: Amount::new(ITEM_PRICE_YEN).unwrap() };
    PaymentInstruction {
        transaction_number,
        store,
        catalog_version: 1,
        lines: List::new(vec![line]).unwrap(),
        total: Amount::new(ITEM_PRICE_YEN).unwrap(),
    }
}

fn balance_after(answer: &Telegram) -> u64 {
    match answer.body() {
        Body::PaymentAnswer(answer) => answer.balance.get(),
        Body::CardAnswer(CardAnswer::Issued(issued)) => issued.balance.get(),
        other => panic!("unexpected answer {other:?}"),
    }
}

fn stdout(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn copy(from: &Path, to: &Path) {
    std::fs::create_dir_all(to.parent().unwrap()).unwrap();
    std::fs::copy(from, to).unwrap_or_else(|error| panic!("copy {}: {error}", from.display()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_data_directory_is_restored_from_the_backup_center_and_answers_as_before() {
    let scratch = tempfile::tempdir().unwrap();
    let location = scratch.path().join("backup-center");
    let mut center = ChildCenter::init(scratch.path().join("center"));
    center.allow_many_terminals_from_one_address();

    // Without a backup location, the operator is told how to get one.
    center.start();
    let refused = center.operator(&["backup", "--label", "too early"]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--backup-dir"), "{refused:?}");
    center.stop();

    center.serve_arguments = vec!["--backup-dir".into(), location.clone().into()];
    center.start();
    let identity = center.identity();
    let fingerprint = identity.fingerprint();
    let mut terminal = center.connect().await;

    // A store with one item, and a member with a funded card.
    let store_number = terminal.apply(Applicant::Store(Text::new("Backup Test Shop").unwrap())).await;
    let mut store = TestParty::new(store_number);
    let answer = store.send_registration(&mut terminal, &fingerprint, center.activation_code(store_number)).await;
    assert_eq!(answer.code(), Code::REGISTRATION_CERTIFICATE, "{answer:?}");
    let item = CatalogItem {
        item_id: 1,
        title: Text::new("Backup tape").unwrap(),
        description: Text::new("Kept somewhere else").unwrap(),
        price: Amount::new(ITEM_PRICE_YEN).unwrap(),
        kind: ItemKind::Service,
    };
    let publish = CatalogPublish { version: 1, part_index: 0, part_count: 1, items: List::new(vec![item]).unwrap() };
    let published = terminal.exchange(&store.request(&fingerprint, publish)).await;
    assert_eq!(published.code(), Code::CATALOG_PUBLISH_ANSWER, "{published:?}");
    let store_number = StoreNumber::try_from(store_number).unwrap();
    let member_number = terminal.apply(Applicant::Member).await;
    let mut member = TestParty::new(member_number);
    let answer = member.send_registration(&mut terminal, &fingerprint, center.activation_code(member_number)).await;
    assert_eq!(answer.code(), Code::REGISTRATION_CERTIFICATE, "{answer:?}");

    // Every request and the answer it got, to repeat after the restore.
    let mut exchanges: Vec<(Telegram, Telegram)> = Vec::new();
    let mut send = async |terminal: &mut RawTerminal, member: &mut TestParty, body: Body| {
        let request = member.request(&fingerprint, body);
        let answer = terminal.exchange(&request).await;
        assert!(matches!(answer.code(), Code::PAYMENT_ANSWER | Code::CARD_ANSWER), "{answer:?}");
        exchanges.push((request, answer));
    };
    let top_up =
        || Body::from(CardRequest { amount: Amount::new(TOP_UP_YEN).unwrap(), channel: FundingChannel::CreditCompany });
    send(&mut terminal, &mut member, top_up()).await;
    for transaction in 1..=3 {
        send(&mut terminal, &mut member, payment(store_number, transaction).into()).await;
    }

    // The backup, through the running center.
    let taken = center.operator(&["backup", "--label", "rehearsal"]);
    assert!(taken.status.success(), "backup: {}{}", stdout(&taken), String::from_utf8_lossy(&taken.stderr));
    let taken_text = stdout(&taken);
    // `serve` took backup 1 at start (the location was empty); the operator's is number 2.
    assert!(taken_text.starts_with("Backup 2 taken by the center"), "{taken_text}");

    // After it: only the shipped journal holds these.
    for transaction in 4..=6 {
        send(&mut terminal, &mut member, payment(store_number, transaction).into()).await;
    }
    send(&mut terminal, &mut member, top_up()).await;
    let expected_balance = balance_after(&exchanges.last().unwrap().1);
    assert_eq!(expected_balance, 2 * TOP_UP_YEN - 6 * ITEM_PRICE_YEN);
    drop(terminal);

    // The machine is lost: the center dies and its data directory is gone.
    let trusted = scratch.path().join("trusted-center.pub");
    copy(&center.data.join("center.pub"), &trusted);
    let operator_key = scratch.path().join("operator-O001.key");
    copy(&center.data.join("operators/O001.key"), &operator_key);
    center.kill();
    std::fs::remove_dir_all(&center.data).unwrap();

    let verified =
        center.command().arg("verify-backup").arg(&location).arg("--trusted-center").arg(&trusted).output().unwrap();
    let verification = stdout(&verified);
    assert!(verified.status.success(), "verify-backup:\n{verification}{}", String::from_utf8_lossy(&verified.stderr));
    assert!(verification.contains("backup intact") && verification.contains("audit passed"), "{verification}");
    assert!(verification.contains("shipped journal: "), "{verification}");

    let restored_data = scratch.path().join("restored");
    let restored = center
        .command()
        .arg("restore")
        .arg(&location)
        .arg("--data")
        .arg(&restored_data)
        .arg("--trusted-center")
        .arg(&trusted)
        .output()
        .unwrap();
    let restore_report = stdout(&restored);
    assert!(restored.status.success(), "restore:\n{restore_report}{}", String::from_utf8_lossy(&restored.stderr));
    println!(
        "backup rehearsal: {}\n--- verify-backup ---\n{verification}\n--- restore ---\n{restore_report}",
        taken_text.trim()
    );

    copy(&operator_key, &restored_data.join("operators/O001.key"));
    center.data = restored_data;
    center.assert_audit_passes();
    center.start();

    // The restored center answers every repeated telegram exactly as before.
    let mut terminal = center.connect().await;
    for (request, original) in &exchanges {
        let answer = terminal.exchange(request).await;
        assert_eq!(answer.as_bytes(), original.as_bytes(), "a repeated telegram got another answer after the restore");
    }
    // And goes on from where the lost one stopped.
    let request = member.request(&fingerprint, payment(store_number, 7));
    let answer = terminal.exchange(&request).await;
    assert_eq!(balance_after(&answer), expected_balance - ITEM_PRICE_YEN, "{answer:?}");
    drop(terminal);

    // The restored center ships to the same location, and checks its backups itself.
    let checked = center.operator(&["verify-backup", "--number", "2"]);
    assert!(checked.status.success(), "{}{}", stdout(&checked), String::from_utf8_lossy(&checked.stderr));
    assert!(stdout(&checked).contains("Backup 2 is intact"), "{}", stdout(&checked));
    center.stop();
    center.assert_audit_passes();
}
