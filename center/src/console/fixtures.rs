//! A console filled with fixed figures, for the `update` tests and the
//! screen snapshots: fixed times, numbers and addresses, so nothing on the
//! screens changes between runs.

use denbun_protocol::header::{MemberNumber, PartyId, StoreNumber};
use denbun_protocol::telegram::{
    AccountState, ActivationCode, BackupResult, BatchSummary, ClassRates, DateRange, DayVolume, FundingChannel,
    JournalDirection, JournalRow, LatencyFigures, Letter, LiveFigures, MemberRow, MemberRows, PendingClaimRow,
    PendingFundsRow, Reconciliation, Report, StoreRow, StoreRows, StoreSales, TelegramClass, TopUps, Total,
};
use denbun_protocol::wire::{Amount, Date, List, Text, Yen};

use super::app::{App, BackupRow, BatchRow, Level, Loaded, PrinterEvent, update};
use super::app::{Event, Tab};

/// 2026-11-24 13:05:00 UTC.
pub const NOW_MS: u64 = 1_795_525_500_000;
/// The business day of `NOW_MS` in Japan.
pub fn today() -> Date {
    Date::new(2026, 11, 24).unwrap()
}

pub fn operator() -> PartyId {
    PartyId::operator(1).unwrap()
}

pub fn member(number: u64) -> MemberNumber {
    MemberNumber::try_from(PartyId::member(number).unwrap()).unwrap()
}

pub fn store(number: u64) -> StoreNumber {
    StoreNumber::try_from(PartyId::store(number).unwrap()).unwrap()
}

fn total(count: u64, yen: u64) -> Total {
    Total { count, yen }
}

pub fn live() -> LiveFigures {
    let classes = TelegramClass::ALL
        .iter()
        .enumerate()
        .map(|(index, class)| {
            let per_second = (0..60u16).map(|second| (second * (index as u16 + 1) / 7) % (4 + index as u16)).collect();
            ClassRates { class: *class, per_second: List::new(per_second).unwrap() }
        })
        .collect();
    LiveFigures {
        now_ms: NOW_MS,
        started_at_ms: NOW_MS - 3 * 3_600_000 - 25 * 60_000,
        business_day: today(),
        connections: 12,
        signed_on_sessions: 9,
        classes: List::new(classes).unwrap(),
        latency: LatencyFigures { samples: 812, p50_us: 640, p90_us: 1_850, p99_us: 7_400, max_us: 21_000 },
        refused_last_hour: 3,
        journal_entries: 4_210,
    }
}

pub fn report(from: Date, to: Date) -> Report {
    let days: Vec<DayVolume> = (0..)
        .map_while(|offset| super::app::shift_day(from, offset).filter(|day| *day <= to))
        .enumerate()
        .map(|(index, date)| DayVolume {
            date,
            telegrams_in: 300 + index as u64 * 17,
            telegrams_out: 310 + index as u64 * 17,
            payments: total(index as u64 % 5 + 1, (index as u64 % 5 + 1) * 4_500),
        })
        .collect();
    Report {
        range: DateRange::new(from, to).unwrap(),
        top_ups: TopUps {
            credit_company: total(4, 40_000),
            bank_transfer: total(2, 15_000),
            post_office_transfer: total(1, 5_000),
            registered_mail_cash: total(0, 0),
        },
        sales_by_store: List::new(vec![
            StoreSales { store: store(1), sales: total(6, 27_000) },
            StoreSales { store: store(2), sales: total(2, 3_000) },
        ])
        .unwrap(),
        days: List::new(days).unwrap(),
        payouts: total(1, 12_000),
        refunds: total(1, 1_500),
        all_time: Reconciliation {
            funds_in_yen: 60_000,
            stored_value_yen: 31_500,
            store_payables_yen: 15_000,
            paid_out_yen: 12_000,
            refunded_yen: 1_500,
        },
        range_movements: Reconciliation {
            funds_in_yen: 60_000,
            stored_value_yen: 31_500,
            store_payables_yen: 15_000,
            paid_out_yen: 12_000,
            refunded_yen: 1_500,
        },
    }
}

pub fn journal_row(entry: u64, code: u16, sender: PartyId, recipient: PartyId, result: u16) -> JournalRow {
    JournalRow {
        entry,
        recorded_at_ms: NOW_MS - (4_300 - entry) * 1_000,
        direction: if code % 100 / 10 == 0 { JournalDirection::In } else { JournalDirection::Out },
        code,
        sender,
        recipient,
        processing_number: entry / 2,
        result,
        telegram_sha256: [7; 32],
        telegram_bytes: 180,
    }
}

pub fn journal_rows() -> Vec<JournalRow> {
    let center = PartyId::CENTER;
    let member = PartyId::member(1).unwrap();
    let store = PartyId::store(1).unwrap();
    let mut rows = Vec::new();
    let mut entry = 4_180;
    for round in 0..8u64 {
        rows.push(journal_row(entry, 4000, member, center, 0));
        rows.push(journal_row(entry + 1, 4010, center, member, 0));
        rows.push(journal_row(entry + 2, 4140, center, store, 0));
        rows.push(journal_row(entry + 3, 9800, operator(), center, 0));
        if round == 5 {
            rows.push(journal_row(entry + 4, 9910, center, member, 400));
        } else {
            rows.push(journal_row(entry + 4, 9810, center, operator(), 0));
        }
        entry += 5;
    }
    rows
}

pub fn funds() -> Vec<PendingFundsRow> {
    vec![
        PendingFundsRow {
            reference: Text::new("BT-2026-000017").unwrap(),
            member: member(1),
            channel: FundingChannel::BankTransfer,
            amount: Amount::new(5_000).unwrap(),
            requested_at_ms: NOW_MS - 86_400_000,
        },
        PendingFundsRow {
            reference: Text::new("PO-2026-000018").unwrap(),
            member: member(2),
            channel: FundingChannel::PostOfficeTransfer,
            amount: Amount::new(20_000).unwrap(),
            requested_at_ms: NOW_MS - 3_600_000,
        },
    ]
}

pub fn letters() -> Vec<Letter> {
    vec![
        Letter {
            letter_number: 3,
            recipient: PartyId::member(2).unwrap(),
            name: Text::new("Sato Jiro").unwrap(),
            address: Text::new("7-8-9 Aoba-ku, Sendai").unwrap(),
            activation_code: ActivationCode::new("K7Q2-9XPM").unwrap(),
            expires_at_ms: NOW_MS + 30 * 86_400_000,
            created_at_ms: NOW_MS - 7_200_000,
            printed: false,
        },
        Letter {
            letter_number: 4,
            recipient: PartyId::store(3).unwrap(),
            name: Text::new("Mori Akiko").unwrap(),
            address: Text::new("2-1 Kanda, Chiyoda-ku, Tokyo").unwrap(),
            activation_code: ActivationCode::new("R4ZB-77TD").unwrap(),
            expires_at_ms: NOW_MS + 30 * 86_400_000,
            created_at_ms: NOW_MS - 600_000,
            printed: false,
        },
    ]
}

pub fn members() -> MemberRows {
    let row = |number, name: &str, state, balance| MemberRow {
        member: member(number),
        name: Text::new(name).unwrap(),
        state,
        balance: Yen::new(balance).unwrap(),
    };
    MemberRows {
        page: 0,
        page_count: 1,
        rows: List::new(vec![
            row(1, "Yamada Taro", AccountState::Active, 26_500),
            row(2, "Sato Jiro", AccountState::Applied, 0),
            row(3, "Suzuki Hanako", AccountState::Frozen, 5_000),
        ])
        .unwrap(),
    }
}

pub fn stores() -> StoreRows {
    StoreRows {
        page: 0,
        page_count: 1,
        rows: List::new(vec![
            StoreRow {
                store: store(1),
                trade_name: Text::new("Tea House Uji").unwrap(),
                state: AccountState::Active,
                payable: Yen::new(15_000).unwrap(),
            },
            StoreRow {
                store: store(2),
                trade_name: Text::new("Kanda Books").unwrap(),
                state: AccountState::Active,
                payable: Yen::new(0).unwrap(),
            },
        ])
        .unwrap(),
    }
}

pub fn claims() -> Vec<PendingClaimRow> {
    vec![
        PendingClaimRow {
            claim_number: 11,
            store: store(1),
            amount: Amount::new(9_000).unwrap(),
            transactions: 3,
            claimed_at_ms: NOW_MS - 5_400_000,
        },
        PendingClaimRow {
            claim_number: 12,
            store: store(2),
            amount: Amount::new(3_000).unwrap(),
            transactions: 1,
            claimed_at_ms: NOW_MS - 1_800_000,
        },
        PendingClaimRow {
            claim_number: 14,
            store: store(1),
            amount: Amount::new(6_000).unwrap(),
            transactions: 2,
            claimed_at_ms: NOW_MS - 600_000,
        },
    ]
}

/// A console that has been running a while, every tab loaded.
pub fn running_app() -> App {
    let mut app = App::new(operator(), "Test Center", "127.0.0.1:7700");
    app.color = false;
    update(&mut app, Event::Tick(NOW_MS));
    let loads = vec![
        Loaded::Live(Box::new(live())),
        Loaded::Today(Box::new(report(today(), today()))),
        Loaded::Funds(funds()),
        Loaded::Letters(letters()),
        Loaded::Members(members()),
        Loaded::Stores(stores()),
        Loaded::Claims(claims()),
        Loaded::Statistics {
            days: Box::new(report(super::app::shift_day(today(), -13).unwrap(), today())),
            day: Box::new(report(today(), today())),
        },
    ];
    for loaded in loads {
        update(&mut app, Event::Loaded(loaded));
    }
    let query = app.journal.filter.clone();
    let after = app.journal.after;
    update(
        &mut app,
        Event::Loaded(Loaded::Journal {
            query: denbun_protocol::telegram::JournalQuery {
                sender: query.sender,
                code: query.code,
                result: query.result,
                from_ms: query.from_ms,
                to_ms: query.to_ms,
                after_entry: after,
            },
            rows: journal_rows(),
            more: false,
        }),
    );
    update(
        &mut app,
        Event::Loaded(Loaded::Refusals {
            rows: vec![
                journal_row(4_205, 9910, PartyId::CENTER, PartyId::member(1).unwrap(), 400),
                journal_row(4_207, 9910, PartyId::CENTER, PartyId::ANONYMOUS, 501),
            ],
            more: false,
        }),
    );
    app.printer.push_front(PrinterEvent {
        at_ms: NOW_MS - 1_000,
        level: Level::Info,
        source: "console",
        text: "Confirmed BT-2026-000016: card 41 of 5,000 yen issued to M00000001.".to_owned(),
    });
    app.payouts.batches.push(BatchRow {
        summary: BatchSummary { batch_number: 7, claims: 2, stores: 1, total: Amount::new(12_000).unwrap() },
        exported: Some("/srv/denbun/exports/batch-000007.zengin".to_owned()),
        executed: true,
    });
    app.backup.backups.push(BackupRow {
        result: BackupResult {
            backup_number: 2,
            bytes: 1_234_567,
            sha256: [0xab; 32],
            created_at_ms: NOW_MS - 86_400_000,
        },
        verified: Some(true),
    });
    app.tab = Tab::Overview;
    app.message = None;
    app
}
