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
