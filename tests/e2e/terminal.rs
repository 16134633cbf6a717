//! The real full-screen `denbun` terminal in tmux (80x24) against a real
//! center on loopback, read back from the screen at each step: a member
//! applies and registers through the wizard, tops up, buys a digital item
//! from a store whose clerk publishes and delivers it from the store
//! terminal, downloads and checks it, and reads the history offline with
//! password A alone.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use denbun_client::vault::IdentityCardFile;
use denbun_protocol::header::PartyId;
use denbun_tests::{TestCenter, binary};

/// How long one screen may take to show what a step waits for.
const SCREEN_WAIT: Duration = Duration::from_secs(30);
/// How often the screen is read while waiting.
const POLL: Duration = Duration::from_millis(100);
/// Between two keys, so the terminal reads them as two.
const KEY_PAUSE: Duration = Duration::from_millis(60);

/// A private tmux server (its own socket), killed when dropped.
struct Tmux {
    socket: String,
}

impl Tmux {
    fn new() -> Tmux {
        let socket =
            format!("denbun-e2e-{}-{}", std::process::id(), rand_core::RngCore::next_u32(&mut rand_core::OsRng));
        Tmux { socket }
    }

    fn run(&self, arguments: &[&str]) -> Output {
        Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(arguments)
            .stdin(Stdio::null())
            .output()
            .expect("run tmux (installed by .ci/run)")
    }

    /// Opens window `name` running `command` in an 80x24 terminal.
    fn open(&self, name: &str, command: &str) {
        let output = self.run(&["new-session", "-d", "-s", name, "-x", "80", "-y", "24", command]);
        assert!(output.status.success(), "tmux new-session: {}", String::from_utf8_lossy(&output.stderr));
        // tmux holds an Escape for escape-time (500 ms by default) and sends
        // it glued to the next key as Alt+key; on a loaded machine our pause
        // between keys can fall inside that window. Pass keys through at once.
        let output = self.run(&["set-option", "-s", "escape-time", "0"]);
        assert!(output.status.success(), "tmux set-option: {}", String::from_utf8_lossy(&output.stderr));
    }

    /// Presses `keys` one at a time. An Escape followed at once by a letter
    /// reads as Alt+letter, so each key goes on its own, after a short pause.
    fn keys(&self, name: &str, keys: &[&str]) {
        for key in keys {
            assert!(self.run(&["send-keys", "-t", name, key]).status.success(), "send-keys {key}");
            std::thread::sleep(KEY_PAUSE);
        }
    }

    /// Types `text` literally.
    fn type_text(&self, name: &str, text: &str) {
        assert!(self.run(&["send-keys", "-t", name, "-l", text]).status.success(), "type {text}");
    }

    fn screen(&self, name: &str) -> String {
        String::from_utf8_lossy(&self.run(&["capture-pane", "-p", "-t", name]).stdout).into_owned()
    }

    /// Waits until the screen shows every one of `texts`; returns it.
    fn wait_for(&self, name: &str, texts: &[&str]) -> String {
        let deadline = Instant::now() + SCREEN_WAIT;
        loop {
            let screen = self.screen(name);
            if texts.iter().all(|text| screen.contains(text)) {
                return screen;
            }
            assert!(Instant::now() < deadline, "window {name} never showed {texts:?}; it shows:\n{screen}");
            std::thread::sleep(POLL);
        }
    }

    /// Waits until the window's program has ended (the shell prints the marker).
    fn wait_ended(&self, name: &str) -> String {
        self.wait_for(name, &["TERMINAL-ENDED"])
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.run(&["kill-server"]);
    }
}

/// The command a window runs: the terminal, then a marker once it ends (so
/// the test sees that it quit cleanly and restored the screen).
fn terminal_command(mode: &str, profile: &Path, card: &Path) -> String {
    format!(
        "{} {mode} --profile {} --center {}; echo TERMINAL-ENDED status $?; sleep 60",
        binary("denbun").display(),
        profile.display(),
        card.display()
    )
}

fn denbun(profile: &Path, card: &Path, passwords: Option<(&Path, &Path)>, arguments: &[&str]) -> String {
    let mut command = Command::new(binary("denbun"));
    command.stdin(Stdio::null()).arg("--profile").arg(profile).arg("--center").arg(card).args(arguments);
    if let Some((password_a, password_b)) = passwords {
        command.env("DENBUN_PASSWORD_A_FILE", password_a).env("DENBUN_PASSWORD_B_FILE", password_b);
    }
    let output = command.output().expect("run denbun");
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "denbun {arguments:?}: {text}");
    text
}

/// The store registers with the command line, as a script would, and keeps
/// a catalog draft with a digital item and a mail-order item.
fn store_with_a_draft(center: &TestCenter, scratch: &Path, card: &Path) -> (PathBuf, Vec<u8>) {
    let profile = scratch.join("store");
    let (password_a, password_b) = (scratch.join("store-a"), scratch.join("store-b"));
    std::fs::write(&password_a, "tea-house-password-a").unwrap();
    std::fs::write(&password_b, "tea-house-password-b").unwrap();
    let applied = denbun(
        &profile,
        card,
        None,
        &[
            "apply",
            "--kind",
            "store",
            "--name",
            "Kenji Tsuji",
            "--address",
            "12 Uji-Renge, Uji, Kyoto",
            "--date-of-birth",
            "1975-09-12",
            "--trade-name",
            "Tea House Uji",
            "--accept-agreement",
        ],
    );
    let number: PartyId = applied
        .split_whitespace()
        .find_map(|word| word.trim_matches(|c: char| !c.is_ascii_alphanumeric()).parse().ok())
        .expect("apply prints the number");
    let code_file = scratch.join("store-code");
    std::fs::write(&code_file, center.letter_for(number).activation_code.expose()).unwrap();
    denbun(
        &profile,
        card,
        Some((&password_a, &password_b)),
        &[
            "register",
            "--number",
            &number.to_string(),
            "--activation-code-file",
            code_file.to_str().unwrap(),
            "--name",
            "Kenji Tsuji",
            "--address",
            "12 Uji-Renge, Uji, Kyoto",
            "--date-of-birth",
            "1975-09-12",
            "--trade-name",
            "Tea House Uji",
            "--bank-code",
            "0005",
            "--branch-code",
            "123",
            "--account-type",
            "ordinary",
            "--account-number",
            "1234567",
            "--account-holder",
            "TSUJI KENJI",
        ],
    );
    // Two chunks and a bit, so the delivery really is chunked.
    let content: Vec<u8> = (0..70_000u32).map(|index| (index % 251) as u8).collect();
    let goods = scratch.join("uji-tea-guide.bin");
    std::fs::write(&goods, &content).unwrap();
    std::fs::write(
        profile.join("catalog.csv"),
        format!(
            "item_id,title,description,price_yen,kind,file\n1,Guide to Uji tea,How to brew gyokuro,500,digital,{}\n\
             2,\"Gyokuro, 100 g\",Shaded first-flush tea,1800,mail-order,\n",
            goods.display()
        ),
    )
    .unwrap();
    (profile, content)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_registers_tops_up_buys_downloads_and_reads_the_history_offline_in_the_real_terminal() {
    let mut center = TestCenter::start().await;
    let scratch = tempfile::tempdir().unwrap();
    let card = scratch.path().join("center.pub");
    center.identity().write(&card).unwrap();
    let member_profile = scratch.path().join("member");
    let runtime = tokio::runtime::Handle::current();
    tokio::task::block_in_place(|| {
        let (store_profile, content) = store_with_a_draft(&center, scratch.path(), &card);
        let tmux = Tmux::new();

        // The clerk opens the store terminal, signs and publishes the draft.
        tmux.open("store", &terminal_command("store", &store_profile, &card));
        tmux.wait_for("store", &["Unlock your key file"]);
        tmux.type_text("store", "tea-house-password-a");
        tmux.keys("store", &["Enter"]);
        tmux.wait_for("store", &["Orders to fulfil", "Tea House Uji"]);
        tmux.keys("store", &["u"]);
        tmux.wait_for("store", &["Password B:"]);
        tmux.type_text("store", "tea-house-password-b");
        tmux.keys("store", &["Enter"]);
        tmux.wait_for("store", &["● signed on"]);
        tmux.keys("store", &["e"]);
        tmux.wait_for("store", &["Catalog draft (2 items)", "Guide to Uji tea"]);
        tmux.keys("store", &["p"]);
        tmux.wait_for("store", &["Publish these 2 items"]);
        tmux.keys("store", &["y"]);
        tmux.wait_for("store", &["Catalog version 1 is published."]);

        // A newcomer: fingerprint, guide, agreement, application.
        tmux.open("member", &terminal_command("member", &member_profile, &card));
        let welcome = tmux.wait_for("member", &["Welcome to Denbun, member terminal"]);
        assert!(welcome.contains(&center.identity().short_fingerprint()), "the card's fingerprint:\n{welcome}");
        tmux.keys("member", &["Enter"]);
        tmux.wait_for("member", &["Guide, version"]);
        tmux.keys("member", &["Enter"]);
        tmux.wait_for("member", &["Agreement, version", "a accept and apply"]);
        tmux.keys("member", &["a"]);
        tmux.wait_for("member", &["You accept agreement version"]);
        tmux.type_text("member", "Hanako Yamada");
        tmux.keys("member", &["Tab"]);
        tmux.type_text("member", "1-2-3 Marunouchi, Tokyo");
        tmux.keys("member", &["Tab"]);
        tmux.type_text("member", "1990-04-01");
        tmux.keys("member", &["Enter"]);
        let applied = tmux.wait_for("member", &["Your number:"]);
        let number: PartyId = applied
            .lines()
            .find_map(|line| line.split("Your number:").nth(1))
            .and_then(|rest| rest.trim_matches(|c: char| c == '│' || c.is_whitespace()).parse().ok())
            .unwrap_or_else(|| panic!("the number on screen:\n{applied}"));
        let code = center.letter_for(number).activation_code.expose().to_owned();

        // The wizard: the letter, the details (kept from the application),
        // two passwords typed twice each, no seed phrase, then the certificate.
        tmux.keys("member", &["Enter"]);
        tmux.wait_for("member", &["Your letter (1 of 6)", &number.to_string()]);
        tmux.keys("member", &["Tab"]);
        tmux.type_text("member", &code);
        let hidden = tmux.screen("member");
        assert!(!hidden.contains(&code), "the activation code is never drawn:\n{hidden}");
        tmux.keys("member", &["Enter"]);
        tmux.wait_for("member", &["Your details (2 of 6)", "Hanako Yamada"]);
        tmux.keys("member", &["Enter", "Enter", "Enter"]);
        tmux.wait_for("member", &["Password A (3 of 6)"]);
        for text in ["plum blossom A", "plum blossom A"] {
            tmux.type_text("member", text);
            tmux.keys("member", &["Enter"]);
        }
        tmux.wait_for("member", &["Password B (4 of 6)"]);
        for text in ["cherry rain B", "cherry rain B"] {
            tmux.type_text("member", text);
            tmux.keys("member", &["Enter"]);
        }
        tmux.wait_for("member", &["Seed phrase (5 of 6)"]);
        tmux.keys("member", &["Enter"]);
        tmux.wait_for("member", &["Check and register (6 of 6)"]);
        tmux.keys("member", &["Enter"]);
        let certificate = tmux.wait_for("member", &["Registration certificate", "The center signed this certificate"]);
        assert!(certificate.contains(&number.to_string()), "{certificate}");
        assert!(!certificate.contains("plum blossom") && !certificate.contains("cherry rain"));
        assert!(member_profile.join("denbun.key").exists());

        // Top-up by credit company: issued at once.
        tmux.keys("member", &["Enter"]);
        tmux.wait_for("member", &["Stores and catalogs", "● signed on"]);
        tmux.keys("member", &["t"]);
        tmux.wait_for("member", &["Ask for a prepaid card"]);
        tmux.type_text("member", "10000");
        tmux.keys("member", &["Enter", "Enter"]);
        tmux.wait_for("member", &["issued: 10,000 yen", "Balance   10,000 yen", "10,000 yen │ outbox 0"]);

        // Buy the digital item.
        tmux.keys("member", &["s"]);
        tmux.wait_for("member", &["Tea House Uji", "Stores, page 1 of 1"]);
        tmux.keys("member", &["Enter"]);
        tmux.wait_for("member", &["Guide to Uji tea", "digital", "500 yen"]);
        tmux.keys("member", &["a"]);
        tmux.keys("member", &["c"]);
        tmux.wait_for("member", &["Total 500 yen"]);
        tmux.keys("member", &["Enter"]);
        tmux.wait_for("member", &["Pay 500 yen to Tea House Uji"]);
        tmux.keys("member", &["y"]);
        tmux.wait_for("member", &["Paid 500 yen", "9,500 yen │ outbox 0"]);

        // The clerk sees the order and delivers the file, sealed.
        tmux.keys("store", &["Escape"]);
        tmux.keys("store", &["r"]);
        tmux.wait_for("store", &["Orders paid to you", &number.to_string(), "paid"]);
        tmux.keys("store", &["Enter"]);
        tmux.wait_for("store", &["Guide to Uji tea", "digital"]);
        tmux.keys("store", &["d"]);
        tmux.wait_for("store", &["uploaded"]);

        // The member downloads, checks and acknowledges it.
        tmux.wait_for("member", &["notices 2"]);
        tmux.keys("member", &["d"]);
        tmux.wait_for("member", &["Downloads", "ready"]);
        tmux.keys("member", &["Enter"]);
        tmux.wait_for("member", &["delivered"]);
        let downloads: Vec<PathBuf> = std::fs::read_dir(member_profile.join("downloads"))
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .filter(|path| path.extension().is_some_and(|extension| extension == "bin"))
            .collect();
        assert_eq!(downloads.len(), 1, "{downloads:?}");
        assert_eq!(std::fs::read(&downloads[0]).unwrap(), content, "the opened file is the store's file");
        tmux.keys("store", &["Escape"]);
        tmux.wait_for("store", &["delivered"]);

        // The line drops: a payment made meanwhile waits in the outbox, and
        // goes out by itself when the center is back (on another port).
        tmux.keys("member", &["Escape", "s"]);
        tmux.wait_for("member", &["Stores, page 1 of 1"]);
        tmux.keys("member", &["Enter"]);
        tmux.wait_for("member", &["Gyokuro, 100 g"]);
        tmux.keys("member", &["Down", "a"]);
        runtime.block_on(center.stop());
        tmux.wait_for("member", &["○ down, retrying"]);
        tmux.keys("member", &["c"]);
        tmux.wait_for("member", &["Total 1,800 yen"]);
        tmux.keys("member", &["Enter"]);
        tmux.wait_for("member", &["The line is down: the signed payment waits in the outbox"]);
        tmux.keys("member", &["y"]);
        tmux.wait_for("member", &["kept in the outbox", "outbox 1"]);
        runtime.block_on(center.start_again());
        center.identity().write(&card).unwrap();
        tmux.wait_for("member", &["Paid 1,800 yen", "7,700 yen │ outbox 0", "● signed on"]);

        // Quit (nothing unsent: no question) and come back offline with password A.
        tmux.keys("member", &["Escape", "q"]);
        let ended = tmux.wait_ended("member");
        assert!(ended.contains("TERMINAL-ENDED status 0"), "{ended}");
        tmux.keys("store", &["q"]);
        tmux.wait_ended("store");
        tmux.open("offline", &terminal_command("member", &member_profile, &card));
        tmux.wait_for("offline", &["Unlock your key file"]);
        tmux.type_text("offline", "plum blossom A");
        tmux.keys("offline", &["Enter"]);
        tmux.wait_for("offline", &["History (offline)", "○ offline"]);
        tmux.keys("offline", &["h"]);
        let history = tmux.wait_for("offline", &["History (", "newest first"]);
        for expected in ["1 line, transaction", "delivered", "prepaid card", "registration certificate", "500 yen"] {
            assert!(history.contains(expected), "the offline history shows {expected}:\n{history}");
        }
        assert!(history.contains("○ offline"), "password A alone: no connection\n{history}");
        tmux.keys("offline", &["q"]);
        tmux.wait_ended("offline");
    });
    center.assert_audit_passes();
}

/// How long the demo may take to make its center and three key files.
const DEMO_WAIT: Duration = Duration::from_secs(120);

#[test]
fn the_demo_registers_everyone_opens_the_member_terminal_stops_its_center_on_quit_and_reopens() {
    let scratch = tempfile::tempdir().unwrap();
    let data = scratch.path().join("demo");
    let (denbun, center) = (binary("denbun"), binary("denbun-center"));
    assert_eq!(denbun.parent(), center.parent(), "the demo finds the center beside denbun");
    let tmux = Tmux::new();
    tmux.open(
        "demo",
        &format!(
            "{} demo --no-wait --data {}; echo TERMINAL-ENDED status $?; sleep 60",
            denbun.display(),
            data.display()
        ),
    );
    let deadline = Instant::now() + DEMO_WAIT;
    let screen = loop {
        let screen = tmux.screen("demo");
        if screen.contains("Demo: password A is") {
            break screen;
        }
        assert!(!screen.contains("TERMINAL-ENDED"), "the demo ended early:\n{screen}");
        assert!(Instant::now() < deadline, "the demo never opened the member terminal:\n{screen}");
        std::thread::sleep(POLL);
    };
    let password_a = std::fs::read_to_string(data.join("secrets/member-password-a")).unwrap();
    assert!(screen.contains(&password_a), "the demo shows its passwords:\n{screen}");
    tmux.type_text("demo", &password_a);
    tmux.keys("demo", &["Enter"]);
    // The demo funded the card and the stores published their catalogs.
    tmux.wait_for("demo", &["M00000001 Hanako Yamada", "Balance   10,000 yen"]);
    let readme = std::fs::read_to_string(data.join("README.txt")).unwrap();
    for expected in ["--profile", "tea-house", "kanda-books", "funds pending", "version 1 published", "card 1 issued"] {
        assert!(readme.contains(expected), "the demo's instructions name {expected}:\n{readme}");
    }
    assert!(data.join("tea-house/catalog.csv").exists(), "the store terminal finds the draft");
    tmux.keys("demo", &["q"]);
    let ended = tmux.wait_ended("demo");
    assert!(ended.contains("TERMINAL-ENDED status 0"), "{ended}");
    let log = std::fs::read_to_string(data.join("center.log")).unwrap();
    assert!(log.contains("denbun-center: stopped"), "the center stopped cleanly on SIGTERM:\n{log}");
    let first_address = card_address(&data);

    // The same command again reopens the kept demo: its center on a new
    // port, which the member terminal finds through center.pub.
    tmux.open(
        "again",
        &format!(
            "{} demo --no-wait --data {}; echo TERMINAL-ENDED status $?; sleep 60",
            denbun.display(),
            data.display()
        ),
    );
    tmux.wait_for("again", &["Demo: password A is"]);
    let store_command = format!("--center {}", data.join("center/center.pub").display());
    tmux.type_text("again", &password_a);
    tmux.keys("again", &["Enter"]);
    tmux.wait_for("again", &["M00000001 Hanako Yamada", "Balance   10,000 yen"]);
    tmux.keys("again", &["g"]);
    tmux.wait_for("again", &["● connected"]);
    assert_ne!(card_address(&data), first_address, "the reopened center listens on a new port");
    // A third start while it runs leaves its center and card alone.
    let running_address = card_address(&data);
    let third = std::process::Command::new(&denbun)
        .args(["demo", "--no-wait", "--data"])
        .arg(&data)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&third.stderr);
    assert!(!third.status.success() && said.contains("is running already"), "{}: {said}", third.status);
    assert_eq!(card_address(&data), running_address, "the running demo keeps its card");
    let readme = std::fs::read_to_string(data.join("README.txt")).unwrap();
    assert!(readme.contains(&store_command), "the store commands find the center through center.pub:\n{readme}");
    tmux.keys("again", &["q"]);
    let ended = tmux.wait_ended("again");
    assert!(ended.contains("TERMINAL-ENDED status 0"), "{ended}");
    assert!(ended.contains("The demo stays in"), "{ended}");
    let log = std::fs::read_to_string(data.join("center.log")).unwrap();
    assert_eq!(log.matches("denbun-center: stopped").count(), 2, "both runs stopped cleanly:\n{log}");
}

/// The address the demo's center.pub names.
fn card_address(data: &std::path::Path) -> String {
    let card = std::fs::read_to_string(data.join("center/center.pub")).unwrap();
    card.lines().find_map(|line| line.strip_prefix("address: ")).unwrap_or_default().to_owned()
}
