//! A payout batch as bank transfer files: the Zengin fixed-length file the
//! bank takes, and a CSV for people and spreadsheets (docs/payouts.md).

use std::path::Path;

use denbun_protocol::telegram::{AccountType, ExportFormat};

use super::zengin::{self, Requester, Transfer, ZenginError};
use crate::config::Payouts;
use crate::storage::ledger_records::BatchRecord;
use crate::storage::{LedgerRecord, Write};

/// The file's name in the data directory's `payouts/` folder.
pub fn file_name(batch_number: u64, format: ExportFormat) -> String {
    match format {
        ExportFormat::Zengin => format!("batch-{batch_number:06}.zengin"),
        ExportFormat::Csv => format!("batch-{batch_number:06}.csv"),
    }
}

/// Writes the transfer files a committed group kept (every export from
/// offset 0 keeps its batch's file) to `directory`, atomically (temporary
/// file, then rename). The record in storage is the file of record; a file
/// that cannot be written is logged, and the next export writes it again.
pub fn write_files(directory: &Path, writes: &[Write]) {
    for write in writes {
        let Write::LedgerPut(LedgerRecord::ExportFile(file)) = write else { continue };
        let path = directory.join(file_name(file.batch_number, file.format));
        let temporary = directory.join(format!(".{}.tmp", file_name(file.batch_number, file.format)));
        let written =
            std::fs::write(&temporary, file.bytes.as_slice()).and_then(|()| std::fs::rename(&temporary, &path));
        match written {
            Ok(()) => tracing::info!(path = %path.display(), "payout transfer file written"),
            Err(error) => {
                tracing::error!(path = %path.display(), %error, "could not write the payout transfer file; export it again")
            }
        }
    }
}

/// The Zengin account type digit (預金種目).
fn zengin_account_type(account_type: AccountType) -> u8 {
    account_type as u8
}

/// The batch as a Zengin comprehensive transfer file, paid from the
/// center's account in `payouts`.
pub fn zengin_file(payouts: &Payouts, batch: &BatchRecord) -> Result<Vec<u8>, ZenginError> {
    let requester = Requester {
        code: &payouts.requester_code,
        name: &payouts.requester_name,
        transfer_date: batch.approved_on,
        bank_code: &payouts.bank_code,
        bank_name: &payouts.bank_name,
        branch_code: &payouts.branch_code,
        branch_name: &payouts.branch_name,
        account_type: if payouts.account_type == "current" { 2 } else { 1 },
        account_number: &payouts.account_number,
    };
    let transfers: Vec<Transfer<'_>> = batch
        .transfers
        .iter()
        .map(|transfer| Transfer {
            bank_code: transfer.account.bank_code.as_str(),
            branch_code: transfer.account.branch_code.as_str(),
            account_type: zengin_account_type(transfer.account.account_type),
            account_number: transfer.account.account_number.as_str(),
            holder_name: transfer.account.holder_name.as_str(),
            amount_yen: transfer.amount.get(),
            customer_code_1: transfer.payout_number,
            customer_code_2: transfer.store.get(),
        })
        .collect();
    zengin::transfer_file(&requester, &transfers)
}

/// One CSV field, quoted when it holds a comma, a quote or a line break.
fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\r', '\n']) { format!("\"{}\"", text.replace('"', "\"\"")) } else { text.to_owned() }
}

/// The batch as CSV (RFC 4180, UTF-8, CRLF): a header line, then one line
/// per transfer.
pub fn csv_file(batch: &BatchRecord) -> Vec<u8> {
    let mut text = String::from(
        "batch,payout_number,store,trade_name,bank_code,branch_code,account_type,account_number,holder_name,\
         amount_yen,transfer_date,claims\r\n",
    );
    for transfer in batch.transfers.iter() {
        let account_type = match transfer.account.account_type {
            AccountType::Ordinary => "ordinary",
            AccountType::Current => "current",
            AccountType::Savings => "savings",
        };
        let claims: Vec<String> = transfer.claims.iter().map(u64::to_string).collect();
        let fields = [
            batch.batch_number.to_string(),
            transfer.payout_number.to_string(),
            transfer.store.to_string(),
            csv_field(transfer.trade_name.as_str()),
            transfer.account.bank_code.to_string(),
            transfer.account.branch_code.to_string(),
            account_type.to_owned(),
            transfer.account.account_number.to_string(),
            csv_field(transfer.account.holder_name.as_str()),
            transfer.amount.get().to_string(),
            batch.approved_on.to_string(),
            claims.join(" "),
        ];
        text.push_str(&fields.join(","));
        text.push_str("\r\n");
    }
    text.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_only_when_needed() {
        assert_eq!(csv_field("Kawa Books"), "Kawa Books");
        assert_eq!(csv_field("Kawa, Books"), "\"Kawa, Books\"");
        assert_eq!(csv_field("the \"best\""), "\"the \"\"best\"\"\"");
    }
}

#[cfg(test)]
mod documented_example {
    use denbun_protocol::header::StoreNumber;
    use denbun_protocol::telegram::{BankAccount, Digits};
    use denbun_protocol::wire::{Amount, Date, List, Text};

    use super::*;
    use crate::config::Config;
    use crate::ledger::zengin::RECORD_BYTES;
    use crate::storage::ledger_records::BatchTransfer;

    /// The batch docs/payouts.md shows.
    fn example_batch() -> BatchRecord {
        let transfer = |store: u64,
                        payout_number,
                        amount,
                        bank: (&str, &str),
                        account_type,
                        number: &str,
                        holder: &str,
                        claims: Vec<u64>| {
            BatchTransfer {
                store: StoreNumber::new(store).unwrap(),
                payout_number,
                amount: Amount::new(amount).unwrap(),
                trade_name: Text::new(format!("Shop {store}")).unwrap(),
                account: BankAccount {
                    bank_code: Digits::new(bank.0).unwrap(),
                    branch_code: Digits::new(bank.1).unwrap(),
                    account_type,
                    account_number: Digits::new(number).unwrap(),
                    holder_name: Text::new(holder).unwrap(),
                },
                claims: List::new(claims).unwrap(),
            }
        };
        BatchRecord {
            batch_number: 1,
            claims: List::new(vec![1, 2, 3]).unwrap(),
            transfers: List::new(vec![
                transfer(1, 1, 12_345, ("0005", "123"), AccountType::Ordinary, "7654321", "ﾔﾏﾀﾞ ｼｮｳﾃﾝ", vec![1, 3]),
                transfer(7, 2, 1_000_000, ("0009", "001"), AccountType::Current, "0000001", "Kawa Books", vec![2]),
            ])
            .unwrap(),
            total: Amount::new(1_012_345).unwrap(),
            approved_at_ms: 0,
            approved_on: Date::new(2025, 3, 7).unwrap(),
            approved_by: denbun_protocol::header::PartyId::operator(1).unwrap(),
            executed_on: None,
            executed_at_ms: 0,
        }
    }

    /// The file as the document shows it: one record per line, half-width
    /// katakana bytes as their Unicode half-width forms.
    fn render(file: &[u8]) -> String {
        file.chunks(RECORD_BYTES)
            .map(|record| {
                record
                    .iter()
                    .map(|&byte| match byte {
                        0xA1..=0xDF => char::from_u32(0xFF61 + u32::from(byte - 0xA1)).unwrap(),
                        _ => char::from(byte),
                    })
                    .collect::<String>()
                    + "\n"
            })
            .collect()
    }

    /// The text of the fenced block tagged `tag` in docs/payouts.md.
    fn block(document: &str, tag: &str) -> String {
        let start = document.find(&format!("```{tag}\n")).expect("the block is in docs/payouts.md") + tag.len() + 4;
        let end = start + document[start..].find("```").expect("the block ends");
        document[start..end].to_owned()
    }

    #[test]
    fn the_documented_example_is_what_the_code_writes() {
        let document = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/payouts.md")).unwrap();
        let config = Config::default_config();
        let zengin = render(&zengin_file(&config.payouts, &example_batch()).unwrap());
        assert_eq!(
            block(&document, "zengin-example"),
            zengin,
            "docs/payouts.md's Zengin example, as written now:\n{zengin}"
        );
        let csv = String::from_utf8(csv_file(&example_batch())).unwrap().replace("\r\n", "\n");
        assert_eq!(block(&document, "csv-example"), csv, "docs/payouts.md's CSV example, as written now:\n{csv}");
    }
}
