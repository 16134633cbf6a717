//! The operator's money commands through the real `denbun-center` binary
//! against a running center: a bank-transfer top-up confirmed with the amount
//! that arrived, and a store paid out (claim, approve, Zengin export checked
//! record by record, executed), then the day's report and the audit.

use denbun_protocol::header::Code;
use denbun_protocol::telegram::Body;
use denbun_protocol::telegram::card::{CardAnswer, CardRequest, FundingChannel};
use denbun_protocol::telegram::registration::Applicant;
use denbun_protocol::wire::Amount;
use denbun_tests::{ChildCenter, TestParty};

const PRICE_YEN: u64 = 1_500;

fn stdout(output: &std::process::Output) -> String {
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(output.status.success(), "{text}{}", String::from_utf8_lossy(&output.stderr));
    text
}

/// The digits of a fixed-length numeric field (1-based, inclusive, as in docs/payouts.md).
fn field(record: &[u8], from: usize, to: usize) -> String {
    String::from_utf8_lossy(&record[from - 1..to]).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operators_confirm_funds_and_pay_a_store_out_with_the_real_binary() {
    let scratch = tempfile::tempdir().unwrap();
    let mut center = ChildCenter::init(scratch.path().join("center"));
    center.start();
    let fingerprint = center.identity().fingerprint();
    let operator = |arguments: &[&str]| tokio::task::block_in_place(|| center.operator(arguments));

    // A member asks for a card paid by bank transfer: pending, with a reference.
    let mut member_line = center.connect().await;
    let member_id = member_line.apply(Applicant::Member).await;
    let mut member = TestParty::new(member_id);
    let certificate = member.send_registration(&mut member_line, &fingerprint, center.activation_code(member_id)).await;
    assert_eq!(certificate.code(), Code::REGISTRATION_CERTIFICATE);
    let request = CardRequest { amount: Amount::new(5_000).unwrap(), channel: FundingChannel::BankTransfer };
    let answer = member_line.exchange(&member.request(&fingerprint, request)).await;
    let Body::CardAnswer(CardAnswer::Pending(pending)) = answer.body() else { panic!("{answer:?}") };
    let reference = pending.reference.as_str().to_owned();

    let listed = stdout(&operator(&["funds", "pending"]));
    assert!(listed.contains(&reference) && listed.contains(&member_id.to_string()), "{listed}");
    assert!(listed.contains("bank transfer"), "channels in words: {listed}");
    // 4,000 yen arrived instead of 5,000: the card is for what arrived.
    let confirmed = stdout(&operator(&["funds", "confirm", &reference, "--amount", "4000"]));
    assert!(confirmed.contains("4,000 yen"), "{confirmed}");
    assert!(stdout(&operator(&["funds", "pending"])).contains("No top-up is waiting"));
    let shown = stdout(&operator(&["members", "show", &member_id.to_string()]));
    assert!(shown.contains("balance   4,000 yen"), "{shown}");
    assert!(
        shown.contains("state     active") && shown.contains("bank transfer, issued"),
        "words, not Rust names: {shown}"
    );

    // A store with a service; the member buys it; the store claims the purchase.
    let transaction_number = 42_424_242;
    let store_id = center.service_sold_and_claimed(&mut member, &mut member_line, PRICE_YEN, transaction_number).await;

    // The operator approves, exports, and marks the batch executed.
    let pending = stdout(&operator(&["payouts", "pending"]));
    assert!(pending.contains(&store_id.to_string()) && pending.contains("1,500 yen"), "{pending}");
    let approved = stdout(&operator(&["payouts", "approve", "--all"]));
    let batch = approved.split_whitespace().nth(2).unwrap().trim_end_matches(':').to_owned();
    let file = scratch.path().join("transfers.zengin");
    stdout(&operator(&["payouts", "export", &batch, "--output", file.to_str().unwrap()]));
    let bytes = std::fs::read(&file).unwrap();
    assert_eq!(bytes.len(), 4 * 120, "header, one data record, trailer, end");
    let records: Vec<&[u8]> = bytes.chunks(120).collect();
    assert_eq!([records[0][0], records[1][0], records[2][0], records[3][0]], *b"1289");
    assert_eq!(field(records[2], 2, 7), "000001", "trailer count");
    assert_eq!(field(records[2], 8, 19), format!("{PRICE_YEN:012}"), "trailer total");
    assert!(records[3][1..].iter().all(|byte| *byte == b' '), "the end record is 9 and spaces");
    let csv = scratch.path().join("transfers.csv");
    stdout(&operator(&["payouts", "export", &batch, "--format", "csv", "--output", csv.to_str().unwrap()]));
    assert!(std::fs::read_to_string(&csv).unwrap().contains("1500"));

    // Business days are Japanese days (center.toml: money.utc_offset_hours = 9).
    let now = time::OffsetDateTime::now_utc().to_offset(time::UtcOffset::from_hms(9, 0, 0).unwrap());
    let today = format!("{:04}-{:02}-{:02}", now.year(), u8::from(now.month()), now.day());
    let executed = stdout(&operator(&["payouts", "executed", &batch, "--on", &today]));
    assert!(executed.contains("1,500 yen"), "{executed}");
    let store_shown = stdout(&operator(&["stores", "show", &store_id.to_string()]));
    assert!(store_shown.contains("paid out  1,500 yen") && store_shown.contains("payable   0 yen"), "{store_shown}");
    assert!(store_shown.contains("state     active"), "{store_shown}");
    assert!(
        ["Ordinary", "Current", "Savings"].iter().all(|rust_name| !store_shown.contains(rust_name)),
        "the bank account's type in words: {store_shown}"
    );
    let transaction = stdout(&operator(&["transactions", "show", &transaction_number.to_string()]));
    assert!(transaction.contains(&member_id.to_string()), "{transaction}");
    assert!(transaction.contains("state     paid out"), "{transaction}");

    // The day's report reconciles (the command exits 1 when it does not).
    let report = stdout(&operator(&["report", "--day", &today]));
    assert!(!report.is_empty());

    center.stop();
    center.assert_audit_passes();
}
