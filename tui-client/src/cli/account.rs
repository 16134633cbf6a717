//! The verbs of a registered member or store: `history` and `outbox`
//! (offline, password A), `send` (password A) and `sign-on` (A and B).

use denbun_protocol::keyfile::HistoryEntry;
use denbun_protocol::telegram::Telegram;
use denbun_protocol::wire::group_thousands;
use tokio::runtime::Runtime;

use super::input::{self, Which};
use super::{CliError, Context};
use crate::session::{Completed, date_of_unix_ms, run_outbox, unix_time_ms};
use crate::vault::{UnlockedVault, Vault};

pub(super) fn open_vault(context: &Context) -> Result<UnlockedVault, CliError> {
    let path = context.existing_key_file()?;
    let password_a = input::password(Which::A)?;
    eprintln!("Opening the key file...");
    Ok(Vault::open(&path, &password_a)?)
}

/// `denbun history`: past purchases, offline.
pub(super) fn history(context: &Context) -> Result<(), CliError> {
    let vault = open_vault(context)?;
    print!("{}", history_table(vault.history()));
    Ok(())
}

/// The history as a table: date yy/mm/dd, store, goods, amount.
pub fn history_table(entries: &[HistoryEntry]) -> String {
    if entries.is_empty() {
        return "No history yet.\n".to_owned();
    }
    let store_width = entries.iter().map(|entry| entry.store.as_str().chars().count()).max().unwrap_or(0).max(5);
    let goods_width = entries.iter().map(|entry| entry.goods.as_str().chars().count()).max().unwrap_or(0).max(5);
    let mut table = format!("{:<8}  {:<store_width$}  {:<goods_width$}  {:>15}\n", "Date", "Store", "Goods", "Amount");
    for entry in entries {
        let (year, month, day) = entry.date.parts();
        table.push_str(&format!(
            "{:02}/{:02}/{:02}  {:<store_width$}  {:<goods_width$}  {:>11} yen\n",
            year % 100,
            month,
            day,
            entry.store.as_str(),
            entry.goods.as_str(),
            group_thousands(entry.amount.get()),
        ));
    }
    table
}

/// `denbun outbox`: what waits to be sent, offline.
pub(super) fn outbox(context: &Context) -> Result<(), CliError> {
    let vault = open_vault(context)?;
    if vault.outbox().is_empty() {
        println!("The outbox is empty.");
        return Ok(());
    }
    println!("{:>10}  {:<4}  {:<32}  {:<10}", "Number", "Code", "Telegram", "Signed");
    for entry in vault.outbox() {
        match Telegram::decode(entry.telegram.as_slice()) {
            Ok(telegram) => {
                let signed_on = date_of_unix_ms(telegram.header().sent_at_ms())
                    .map_or_else(|| "?".to_owned(), |date| date.to_string());
                println!(
                    "{:>10}  {}  {:<32}  {signed_on}",
                    entry.processing_number,
                    telegram.code(),
                    telegram.code().name()
                );
            }
            Err(error) => println!("{:>10}  ????  unreadable ({error})", entry.processing_number),
        }
    }
    println!("{} telegram(s) wait. `denbun send` sends them.", vault.outbox().len());
    Ok(())
}

/// `denbun send`: sends the outbox.
pub(super) fn send(context: &Context, runtime: &Runtime) -> Result<(), CliError> {
    let mut vault = open_vault(context)?;
    if vault.outbox().is_empty() {
        println!("The outbox is empty; nothing to send.");
        return Ok(());
    }
    let session = context.connect(runtime, vault.center())?;
    let report = runtime.block_on(run_outbox(&mut vault, &session))?;
    let mut refused = 0;
    for completed in &report.completed {
        match completed {
            Completed::Answered { processing_number, answer } => {
                println!("{processing_number}: answered ({}).", answer.body().code().name());
            }
            Completed::Refused { processing_number, rejection } => {
                refused += 1;
                println!("{processing_number}: {rejection} Removed from the outbox.");
            }
        }
    }
    if !report.unreadable.is_empty() {
        eprintln!(
            "{} outbox entries could not be read and were left in place: {:?}.",
            report.unreadable.len(),
            report.unreadable
        );
    }
    if let Some(error) = report.stopped {
        return Err(CliError::Failed(format!("{error} {} telegram(s) still wait in the outbox.", report.waiting)));
    }
    if refused > 0 {
        return Err(CliError::Failed(format!("The center refused {refused} telegram(s); see above.")));
    }
    println!("Outbox sent: {} answered, {} waiting.", report.completed.len(), report.waiting);
    Ok(())
}

/// `denbun sign-on`: checks the line and shows the mailbox count.
pub(super) fn sign_on(context: &Context, runtime: &Runtime) -> Result<(), CliError> {
    let mut vault = open_vault(context)?;
    let party = vault.profile().party;
    let password_b = input::password(Which::B)?;
    eprintln!("Opening the signature key...");
    let guard = vault.signing_key(&password_b)?;
    let key = guard.signing_key().clone();
    drop(guard);
    // Both numbers are saved before anything is sent, so neither is used twice.
    let sign_on_number = vault.allocate_processing_number()?;
    let sign_off_number = vault.allocate_processing_number()?;
    let session = context.connect(runtime, vault.center())?;
    let answer = runtime.block_on(async {
        let answer = session.sign_on(&key, party, sign_on_number).await?;
        // This verb only looks: notices stay in the mailbox for the terminal.
        session.ignore_notices().await?;
        session.sign_off(sign_off_number).await?;
        Ok::<_, CliError>(answer)
    })?;
    let skew_seconds = (i128::from(answer.center_time_ms) - i128::from(unix_time_ms())) / 1_000;
    println!("Signed on as {party} at {} (fingerprint {}).", vault.center().name, vault.center().short_fingerprint());
    println!("{} notice(s) wait in your mailbox.", answer.mailbox_count);
    if skew_seconds.abs() >= 60 {
        println!("Note: this computer's clock differs from the center's by about {skew_seconds} s.");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use denbun_protocol::wire::{Blob, Date, Text, Yen};

    #[test]
    fn history_shows_yy_mm_dd_store_goods_and_amount() {
        let entry = HistoryEntry {
            date: Date::new(2024, 6, 1).unwrap(),
            store: Text::new("Tea House Uji").unwrap(),
            goods: Text::new("Gyokuro 100 g").unwrap(),
            amount: Yen::new(1_234_567).unwrap(),
            receipt: Blob::new(vec![1]).unwrap(),
        };
        let table = history_table(&[entry]);
        let line = table.lines().nth(1).unwrap();
        assert!(line.starts_with("24/06/01  Tea House Uji  Gyokuro 100 g"), "{table}");
        assert!(line.ends_with("1,234,567 yen"), "{table}");
        assert_eq!(history_table(&[]), "No history yet.\n");
    }
}
