//! The real `denbun` binary's money verbs against a real center: a member
//! tops up, browses, pays and reads its history; a store imports and
//! publishes its catalog, delivers sealed goods the member downloads,
//! refunds, claims and reads its statement. Key files are made by the
//! library (with the smallest scrypt cost the binary accepts) and
//! registered through it; everything after that is the binary. Passwords
//! travel in files named by environment variables only.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use denbun_client::vault::VaultConfig;
use denbun_protocol::header::StoreNumber;
use denbun_protocol::keyfile::{KdfParams, KdfPolicy};
use denbun_protocol::telegram::{PageRequest, PayoutsAnswer, PayoutsRequest};
use denbun_tests::{TestCenter, binary};

use super::{Account, Operator, kawa_account, mail_order, service, start_center, today};

/// The smallest scrypt cost the binary opens (it opens with the standard policy).
const SMALLEST_STANDARD: VaultConfig = VaultConfig { params: KdfParams::new(15, 8, 1), policy: KdfPolicy::STANDARD };

/// A profile directory the binary works in, with the password files.
struct Terminal {
    profile: tempfile::TempDir,
    passwords: tempfile::TempDir,
}

impl Terminal {
    async fn member(center: &TestCenter) -> (Terminal, Account) {
        let account = Account::register_with(center, None, SMALLEST_STANDARD).await;
        (Terminal::passwords(), account)
    }

    fn passwords() -> Terminal {
        let passwords = tempfile::tempdir().unwrap();
        std::fs::write(passwords.path().join("a"), "password A\n").unwrap();
        std::fs::write(passwords.path().join("b"), "password B\n").unwrap();
        Terminal { profile: tempfile::tempdir().unwrap(), passwords }
    }

    /// Hands `account`'s key file over to the binary.
    fn with(mut self, account: Account) -> Terminal {
        self.profile = account.into_profile();
        self
    }

    fn path(&self, name: &str) -> PathBuf {
        self.profile.path().join(name)
    }

    /// Runs one verb; the child blocks, so it runs off the runtime's workers.
    fn run(&self, arguments: &[&str]) -> Output {
        let mut command = Command::new(binary("denbun"));
        command
            .stdin(Stdio::null())
            .arg("--profile")
            .arg(self.profile.path())
            .args(arguments)
            .env("DENBUN_PASSWORD_A_FILE", self.passwords.path().join("a"))
            .env("DENBUN_PASSWORD_B_FILE", self.passwords.path().join("b"));
        tokio::task::block_in_place(|| command.output().expect("run denbun"))
    }

    /// Runs a verb that must succeed; its standard output.
    fn ok(&self, arguments: &[&str]) -> String {
        let output = self.run(arguments);
        assert!(output.status.success(), "denbun {arguments:?}: {}", text(&output));
        String::from_utf8(output.stdout).unwrap()
    }

    /// Runs a verb that must fail with `code`; what it said.
    fn fails(&self, arguments: &[&str], code: i32) -> String {
        let output = self.run(arguments);
        assert_eq!(output.status.code(), Some(code), "denbun {arguments:?}: {}", text(&output));
        text(&output)
    }
}

fn text(output: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

/// The word after `label` in `text`.
fn word_after<'a>(text: &'a str, label: &str) -> &'a str {
    let start = text.find(label).unwrap_or_else(|| panic!("no {label:?} in:\n{text}")) + label.len();
    text[start..].split_whitespace().next().unwrap().trim_end_matches(['.', ','])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_tops_up_browses_pays_and_reads_the_history_with_the_real_binary() {
    let mut center = start_center().await;
    let mut operator = Operator::sign_on(&mut center).await;
    let mut store = Account::store(&center, "Yamada Shoten", super::yamada_account()).await;
    store.publish(1, vec![mail_order(1, "Gyokuro, 100 g", 1_200), service(2, "Tea lesson", 3_000)]).await;
    let store_number = store.store_number().to_string();
    let (terminal, member) = Terminal::member(&center).await;
    let member_number = member.member_number();
    let terminal = terminal.with(member);

    let issued = terminal.ok(&["topup", "--amount", "5,000", "--channel", "credit"]);
    assert!(issued.contains("issued: 5,000 yen from the credit company"), "{issued}");
    assert!(issued.contains("Your balance is now 5,000 yen."), "{issued}");
    let pending = terminal.ok(&["topup", "--amount", "2000", "--channel", "bank"]);
    let reference = word_after(&pending, "Transfer reference:");
    assert!(reference.starts_with("BT-") && pending.contains("waits for the money"), "{pending}");
    operator.confirm(reference, 2_000).await;
    let notices = terminal.ok(&["notices"]);
    assert_eq!(notices.matches("Prepaid card").count(), 2, "{notices}");
    assert!(notices.contains(&format!("reference {reference}")), "{notices}");
    assert!(terminal.ok(&["notices"]).contains("No new notices."));

    let stores = terminal.ok(&["catalog"]);
    assert!(stores.contains(&store_number) && stores.contains("Yamada Shoten"), "{stores}");
    let found = terminal.ok(&["catalog", "--store", &store_number, "--search", "gyokuro"]);
    assert!(found.contains("Gyokuro, 100 g") && found.contains("1,200 yen"), "{found}");
    assert!(!found.contains("Tea lesson"), "the search leaves other items out: {found}");

    let paid = terminal.ok(&["pay", "--store", &store_number, "--item", "1:2", "--catalog-version", "1"]);
    assert!(paid.contains("2 x Gyokuro, 100 g (item 1) at 1,200 yen = 2,400 yen"), "{paid}");
    assert!(paid.contains("Paid 2,400 yen") && paid.contains("balance is now 4,600 yen"), "{paid}");
    let refused = terminal.fails(&["pay", "--store", &store_number, "--item", "2:2"], 1);
    assert!(refused.contains("Top up your prepaid card"), "{refused}");
    let stale = terminal.fails(&["pay", "--store", &store_number, "--item", "1", "--catalog-version", "9"], 1);
    assert!(stale.contains("catalog is now version 1") && stale.contains("Nothing was signed"), "{stale}");
    terminal.fails(&["pay", "--store", &store_number, "--item", "one"], 2);
    let not_a_store = terminal.fails(&["claim"], 2);
    assert!(not_a_store.contains("This is for a store"), "{not_a_store}");

    // Offline, password A only: the history shows the cards and the purchase.
    let history = terminal.ok(&["history"]);
    assert!(history.contains("prepaid card") && history.contains("5,000 yen"), "{history}");
    assert!(history.contains(&store_number) && history.contains("2,400 yen"), "{history}");
    assert!(terminal.ok(&["outbox"]).contains("The outbox is empty"));
    let detail = operator.member(member_number).await;
    assert_eq!((detail.balance.get(), detail.purchases), (4_600, 1));
    center.assert_audit_passes();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_publishes_delivers_refunds_and_claims_with_the_real_binary() {
    let mut center = start_center().await;
    let first_day = today();
    let mut operator = Operator::sign_on(&mut center).await;
    let store = Account::register_with(&center, Some(("Kawa Books", kawa_account())), SMALLEST_STANDARD).await;
    let store_number = store.store_number();
    let clerk = Terminal::passwords().with(store);

    // The catalog comes from a spreadsheet; the digital item's file lies beside it.
    let goods = tempfile::tempdir().unwrap();
    let content: Vec<u8> = (0..70_000u32).map(|index| (index % 251) as u8).collect();
    std::fs::write(goods.path().join("guide.pdf"), &content).unwrap();
    let csv = goods.path().join("catalog.csv");
    std::fs::write(
        &csv,
        "item_id,title,description,price_yen,kind,file\n1,Reading guide,\"A guide, in PDF\",800,digital,guide.pdf\n\
         2,Reading circle,One evening,1500,service,\n3,Printed guide,Bound,2000,mail-order,\n",
    )
    .unwrap();
    let imported = clerk.ok(&["store", "catalog", "import", csv.to_str().unwrap()]);
    assert!(imported.contains("Imported 3 item(s)"), "{imported}");
    let exported = goods.path().join("exported.csv");
    clerk.ok(&["store", "catalog", "export", exported.to_str().unwrap()]);
    let exported = std::fs::read_to_string(&exported).unwrap();
    assert!(exported.contains(goods.path().join("guide.pdf").to_str().unwrap()), "paths are kept whole: {exported}");
    let published = clerk.ok(&["store", "catalog", "publish"]);
    assert!(published.contains("Catalog version 1 is published: 3 item(s)"), "{published}");

    // A member buys both (through the library), then hands its key file to the binary.
    let (buyer, mut member) = Terminal::member(&center).await;
    member.top_up(10_000).await;
    let (guide, _) = member.buy(store_number, &[(1, 1)]).await.unwrap();
    let (circle, _) = member.buy(store_number, &[(2, 1)]).await.unwrap();
    let (printed, _) = member.buy(store_number, &[(3, 1)]).await.unwrap();
    let buyer = buyer.with(member);
    let waiting = buyer.fails(&["download", "--transaction", &guide.to_string(), "--output", "x"], 1);
    assert!(waiting.contains("not ready to download yet") || waiting.contains("Nothing of transaction"), "{waiting}");

    let file = goods.path().join("guide.pdf");
    let delivered = clerk.ok(&["deliver", "--transaction", &guide.to_string(), "--file", file.to_str().unwrap()]);
    assert!(delivered.contains(&format!("Item 1 of transaction {guide} is with the center")), "{delivered}");
    let again = clerk.ok(&["deliver", "--transaction", &guide.to_string(), "--file", file.to_str().unwrap()]);
    assert!(again.contains("nothing to do"), "a second run does not upload again: {again}");
    let wrong = clerk.fails(&["deliver", "--transaction", "12345", "--file", file.to_str().unwrap()], 1);
    assert!(wrong.contains("no payment notice for transaction 12345"), "{wrong}");

    let output = buyer.path("guide.pdf");
    let downloaded = buyer.ok(&["download", "--transaction", &guide.to_string(), "--output", output.to_str().unwrap()]);
    assert_eq!(std::fs::read(&output).unwrap(), content);
    assert!(downloaded.contains("match the catalog") && downloaded.contains("Delivery receipt"), "{downloaded}");
    assert!(downloaded.contains(&format!("transaction {guide}, item 1")), "{downloaded}");

    let refunded = clerk.ok(&["refund", "--transaction", &circle.to_string(), "--amount", "500", "--reason", "late"]);
    assert!(refunded.contains("Refunded 500 yen") && refunded.contains("500 yen refunded in all"), "{refunded}");
    // Claimed: what is delivered; the mail order waits for its shipment.
    let claimed = clerk.ok(&["claim"]);
    assert!(claimed.contains("2 purchase(s), 1,800 yen"), "800 + 1,500 - 500: {claimed}");
    assert!(claimed.contains(&format!("Not yet: transaction {printed}: item 3 is not shipped")), "{claimed}");
    let shipped =
        clerk.ok(&["deliver", "--transaction", &printed.to_string(), "--carrier", "Yamato", "--tracking", "1234-5678"]);
    assert!(shipped.contains(&format!("The shipment of transaction {printed}")), "{shipped}");
    assert!(clerk.ok(&["claim"]).contains("1 purchase(s), 2,000 yen"));
    assert!(clerk.ok(&["claim"]).contains("Nothing to claim"));
    let PayoutsAnswer::Pending(pending) = operator.payouts(PayoutsRequest::Pending(PageRequest { page: 0 })).await
    else {
        panic!("expected pending claims")
    };
    let claims: Vec<(StoreNumber, u64)> = pending.rows.iter().map(|row| (row.store, row.amount.get())).collect();
    assert_eq!(claims, [(store_number, 1_800), (store_number, 2_000)]);

    let statement = clerk.ok(&["statement", "--from", &first_day.to_string(), "--to", &today().to_string()]);
    assert!(
        statement.contains("Opening payable: 0 yen") && statement.contains("Closing payable: 3,800 yen"),
        "{statement}"
    );
    assert_eq!(statement.matches(" sale ").count(), 3, "{statement}");
    assert!(statement.contains("-500 yen"), "{statement}");
    assert!(Path::new(&clerk.path("claimed.txt")).exists());
    center.assert_audit_passes();
}
