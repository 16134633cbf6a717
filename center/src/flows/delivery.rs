//! Families 50 to 53: digital goods relayed sealed, and mail-order shipments.
//!
//! The store uploads an item sealed to the member's delivery key (the
//! construction is in docs/protocol.md section 14 and docs/delivery.md), in
//! chunks, from offset 0 up; the center holds the chunks without being able
//! to read them, answers how much it holds (a store resumes from there), and
//! when the last chunk is in, tells the member (5140). The member fetches
//! chunks by offset, in any order and as often as needed (resuming after a
//! dropped line), opens them, checks the content hash against the catalog
//! and acknowledges it; the center checks the hash too, answers a signed
//! receipt binding the purchase to the hash, tells the store (5240) and
//! drops the chunks it no longer needs to relay.

use denbun_protocol::header::{Header, MemberNumber, StoreNumber};
use denbun_protocol::limits::DELIVERY_CHUNK_BYTES_MAX;
use denbun_protocol::reject::RejectReason;
use denbun_protocol::telegram::{
    DeliveredNotice, DeliveryAcknowledgement, DeliveryChunk, DeliveryFetch, DeliveryReadyNotice, DeliveryReceipt,
    DeliveryUpload, DeliveryUploadAnswer, ItemKind, Shipment, ShipmentAnswer, ShipmentNotice, sealed_size,
};
use x25519_dalek::PublicKey as DeliveryKey;

use super::catalog;
use super::common::{accept, member_in_good_standing, store_in_good_standing};
use super::payment::transaction;
use super::{Decision, FlowContext};
use crate::service::tx::Tx;
use crate::storage::ledger_records::{DeliveryChunkRecord, DeliveryRecord, ShipmentRecord, TransactionRecord};
use crate::storage::{LedgerKey, StorageError};

const CHUNK_BYTES: u64 = DELIVERY_CHUNK_BYTES_MAX as u64;

fn chunk_index(offset: u64) -> u32 {
    u32::try_from(offset / CHUNK_BYTES).expect("sealed sizes are far below 2^32 chunks")
}

/// A delivery as this group sees it.
pub fn delivery(
    tx: &mut Tx<'_>,
    transaction_number: u64,
    item_id: u32,
) -> Result<Option<DeliveryRecord>, StorageError> {
    tx.ledger_record(&LedgerKey::delivery(transaction_number, item_id))
}

/// Removes the chunks held for a delivery.
fn remove_chunks(tx: &mut Tx<'_>, delivery: &DeliveryRecord) {
    let chunks = delivery.received_bytes.div_ceil(CHUNK_BYTES);
    for index in 0..chunks {
        let index = u32::try_from(index).expect("sealed sizes are far below 2^32 chunks");
        tx.ledger_remove(LedgerKey::delivery_chunk(delivery.transaction_number, delivery.item_id, index));
    }
}

/// Whether everything of the purchase is delivered or shipped.
fn everything_delivered(transaction: &TransactionRecord) -> bool {
    transaction.digital_acknowledged == transaction.digital_items
        && (!transaction.needs_shipment || transaction.shipment.is_some())
}

/// The store's purchase `transaction_number`, or the refusal (a purchase of
/// another store is "not found" to this one).
fn store_transaction(
    tx: &mut Tx<'_>,
    store: StoreNumber,
    transaction_number: u64,
) -> Result<Result<TransactionRecord, Decision>, StorageError> {
    match transaction(tx, transaction_number)? {
        Some(record) if record.store == store => Ok(Ok(record)),
        _ => Ok(Err(Decision::reject_with(
            RejectReason::NotFound,
            format!("no purchase {transaction_number} at {store}"),
        ))),
    }
}

/// The member's purchase `transaction_number`, or the refusal.
fn member_transaction(
    tx: &mut Tx<'_>,
    member: MemberNumber,
    transaction_number: u64,
) -> Result<Result<TransactionRecord, Decision>, StorageError> {
    match transaction(tx, transaction_number)? {
        Some(record) if record.member == member => Ok(Ok(record)),
        _ => Ok(Err(Decision::reject_with(
            RejectReason::NotFound,
            format!("{member} has no purchase {transaction_number}"),
        ))),
    }
}

/// `5000`: one sealed chunk from the store.
pub fn upload(
    tx: &mut Tx<'_>,
    context: &FlowContext<'_>,
    header: &Header,
    upload: &DeliveryUpload,
) -> Result<Decision, StorageError> {
    let (store, _) = accept!(store_in_good_standing(tx, header.sender())?);
    let number = upload.transaction_number;
    let purchase = accept!(store_transaction(tx, store, number)?);
    if purchase.refunded_yen == purchase.total.get() {
        return Ok(Decision::reject_with(RejectReason::AlreadyDone, format!("purchase {number} was refunded in full")));
    }
    let item_id = upload.item_id;
    let content = match purchase.lines.iter().any(|line| line.item_id == item_id) {
        true => catalog::item(tx, store, purchase.catalog_version, item_id)?.and_then(|item| match item.kind {
            ItemKind::Digital(content) => Some(content),
            _ => None,
        }),
        false => None,
    };
    let Some(content) = content else {
        return Ok(Decision::reject_with(
            RejectReason::UnknownStoreOrItem,
            format!("purchase {number} has no digital item {item_id}"),
        ));
    };
    let delivery_bytes_max = context.config.money.delivery_bytes_max;
    if content.content_bytes.get() > delivery_bytes_max {
        return Ok(Decision::reject_with(
            RejectReason::LimitExceeded,
            format!("digital goods are at most {delivery_bytes_max} bytes here"),
        ));
    }
    let sealed_bytes = sealed_size(content.content_bytes);
    if upload.sealed_bytes != sealed_bytes {
        return Ok(Decision::reject_with(
            RejectReason::NotPermitted,
            format!(
                "item {item_id} holds {} bytes, so its sealed size is {sealed_bytes}, not {}",
                content.content_bytes.get(),
                upload.sealed_bytes
            ),
        ));
    }
    let ephemeral_key = upload.ephemeral_key.to_bytes();
    let status = |delivery: &DeliveryRecord| {
        Decision::answer(DeliveryUploadAnswer {
            transaction_number: number,
            item_id,
            received_bytes: delivery.received_bytes,
            complete: delivery.ready_at_ms != 0,
        })
    };
    let mut delivery = match delivery(tx, number, item_id)? {
        Some(held) if held.acknowledged_at_ms != 0 => {
            return Ok(Decision::reject_with(
                RejectReason::AlreadyDone,
                format!("item {item_id} of purchase {number} was already delivered and acknowledged"),
            ));
        }
        Some(held) if held.ephemeral_key != ephemeral_key => {
            if upload.offset != 0 {
                return Ok(Decision::reject_with(
                    RejectReason::NotPermitted,
                    "this chunk is sealed with another ephemeral key; to seal the item again, start at offset 0",
                ));
            }
            // A new sealing replaces what was held (the old one may have been damaged).
            remove_chunks(tx, &held);
            None
        }
        held => held,
    };
    if let Some(held) = &delivery {
        if upload.offset < held.received_bytes {
            let index = chunk_index(upload.offset);
            let stored: Option<DeliveryChunkRecord> =
                tx.ledger_record(&LedgerKey::delivery_chunk(number, item_id, index))?;
            if stored.is_some_and(|stored| stored.bytes == upload.chunk) {
                return Ok(status(held));
            }
            return Ok(Decision::reject_with(
                RejectReason::NotPermitted,
                format!(
                    "the chunk at offset {} differs from the one held; to seal the item again, start at offset 0 \
                     with a new ephemeral key",
                    upload.offset
                ),
            ));
        }
        if upload.offset > held.received_bytes {
            return Ok(Decision::reject_with(
                RejectReason::NotPermitted,
                format!("the center holds {} bytes; resume from there", held.received_bytes),
            ));
        }
    } else if upload.offset != 0 {
        return Ok(Decision::reject_with(
            RejectReason::NotPermitted,
            "the center holds nothing yet; start at offset 0",
        ));
    }
    let mut record = delivery.take().unwrap_or(DeliveryRecord {
        transaction_number: number,
        item_id,
        member: purchase.member,
        store,
        content_bytes: content.content_bytes.get(),
        content_sha256: content.content_sha256,
        sealed_bytes,
        ephemeral_key,
        received_bytes: 0,
        ready_at_ms: 0,
        acknowledged_at_ms: 0,
    });
    tx.ledger_put(DeliveryChunkRecord {
        transaction_number: number,
        item_id,
        chunk_index: chunk_index(upload.offset),
        bytes: upload.chunk.clone(),
    });
    record.received_bytes += upload.chunk.as_slice().len() as u64;
    if record.received_bytes == record.sealed_bytes {
        record.ready_at_ms = tx.now_ms();
        tx.notice(
            purchase.member.party(),
            DeliveryReadyNotice {
                transaction_number: number,
                item_id,
                store,
                content_bytes: content.content_bytes,
                content_sha256: content.content_sha256,
                sealed_bytes,
            },
        )?;
    }
    let answer = status(&record);
    tx.ledger_put(record);
    Ok(answer)
}

/// `5100`: the member fetches one sealed chunk (any offset, any number of times).
pub fn fetch(tx: &mut Tx<'_>, header: &Header, fetch: &DeliveryFetch) -> Result<Decision, StorageError> {
    let (member, _) = accept!(member_in_good_standing(tx, header.sender())?);
    let number = fetch.transaction_number;
    accept!(member_transaction(tx, member, number)?);
    let Some(held) = delivery(tx, number, fetch.item_id)?.filter(|held| held.ready_at_ms != 0) else {
        return Ok(Decision::reject_with(
            RejectReason::NotFound,
            format!("item {} of purchase {number} is not ready yet; a notice comes when it is", fetch.item_id),
        ));
    };
    if held.acknowledged_at_ms != 0 {
        return Ok(Decision::reject_with(
            RejectReason::AlreadyDone,
            format!("item {} of purchase {number} was acknowledged; the center no longer holds it", fetch.item_id),
        ));
    }
    if fetch.offset >= held.sealed_bytes {
        return Ok(Decision::reject_with(
            RejectReason::NotFound,
            format!("the sealed item is {} bytes; offset {} is past its end", held.sealed_bytes, fetch.offset),
        ));
    }
    let key = LedgerKey::delivery_chunk(number, fetch.item_id, chunk_index(fetch.offset));
    let chunk: DeliveryChunkRecord = tx.ledger_record(&key)?.ok_or_else(|| StorageError::Corrupt {
        key: format!("{key:?}"),
        reason: "a chunk of a complete delivery is missing".to_owned(),
    })?;
    Ok(Decision::answer(DeliveryChunk {
        transaction_number: number,
        item_id: fetch.item_id,
        ephemeral_key: DeliveryKey::from(held.ephemeral_key),
        sealed_bytes: held.sealed_bytes,
        offset: fetch.offset,
        chunk: chunk.bytes,
    }))
}

/// `5200`: the member opened the item; the center checks the hash and
/// answers the signed receipt.
pub fn acknowledge(
    tx: &mut Tx<'_>,
    header: &Header,
    acknowledgement: &DeliveryAcknowledgement,
) -> Result<Decision, StorageError> {
    let (member, _) = accept!(member_in_good_standing(tx, header.sender())?);
    let number = acknowledgement.transaction_number;
    let item_id = acknowledgement.item_id;
    let mut purchase = accept!(member_transaction(tx, member, number)?);
    let Some(mut held) = delivery(tx, number, item_id)?.filter(|held| held.ready_at_ms != 0) else {
        return Ok(Decision::reject_with(
            RejectReason::NotFound,
            format!("item {item_id} of purchase {number} has not been delivered yet"),
        ));
    };
    let receipt = |held: &DeliveryRecord| DeliveryReceipt {
        transaction_number: number,
        item_id,
        member,
        store: held.store,
        content_sha256: held.content_sha256,
        acknowledged_at_ms: held.acknowledged_at_ms,
    };
    if acknowledgement.content_sha256 != held.content_sha256 {
        return Ok(Decision::reject_with(
            RejectReason::NotPermitted,
            "the content's SHA-256 differs from the catalog's; fetch the item again, or contact the store",
        ));
    }
    if held.acknowledged_at_ms != 0 {
        return Ok(Decision::answer(receipt(&held)));
    }
    held.acknowledged_at_ms = tx.now_ms();
    remove_chunks(tx, &held);
    purchase.digital_acknowledged += 1;
    if purchase.delivered_at_ms == 0 && everything_delivered(&purchase) {
        purchase.delivered_at_ms = tx.now_ms();
    }
    tx.ledger_put(purchase);
    let answer = receipt(&held);
    tx.notice(
        held.store.party(),
        DeliveredNotice {
            transaction_number: number,
            item_id,
            member,
            store: held.store,
            content_sha256: held.content_sha256,
            acknowledged_at_ms: held.acknowledged_at_ms,
        },
    )?;
    tx.ledger_put(held);
    Ok(Decision::answer(answer))
}

/// `5300`: the store shipped mail-order goods; the member is told.
pub fn ship(tx: &mut Tx<'_>, header: &Header, shipment: &Shipment) -> Result<Decision, StorageError> {
    let (store, _) = accept!(store_in_good_standing(tx, header.sender())?);
    let number = shipment.transaction_number;
    let mut purchase = accept!(store_transaction(tx, store, number)?);
    if !purchase.needs_shipment {
        return Ok(Decision::reject_with(
            RejectReason::NotPermitted,
            format!("purchase {number} has no mail-order goods to ship"),
        ));
    }
    if purchase.refunded_yen == purchase.total.get() {
        return Ok(Decision::reject_with(RejectReason::AlreadyDone, format!("purchase {number} was refunded in full")));
    }
    let answer = ShipmentAnswer { transaction_number: number, member: purchase.member };
    if let Some(shipped) = &purchase.shipment
        && shipped.carrier == shipment.carrier
        && shipped.tracking == shipment.tracking
    {
        return Ok(Decision::answer(answer));
    }
    // A first shipment, or a correction of carrier or tracking: the member is told again.
    let shipped_at_ms = tx.now_ms();
    purchase.shipment =
        Some(ShipmentRecord { carrier: shipment.carrier.clone(), tracking: shipment.tracking.clone(), shipped_at_ms });
    if purchase.delivered_at_ms == 0 && everything_delivered(&purchase) {
        purchase.delivered_at_ms = shipped_at_ms;
    }
    let member = purchase.member;
    tx.ledger_put(purchase);
    tx.notice(
        member.party(),
        ShipmentNotice {
            transaction_number: number,
            store,
            carrier: shipment.carrier.clone(),
            tracking: shipment.tracking.clone(),
            shipped_at_ms,
        },
    )?;
    Ok(Decision::answer(answer))
}

#[cfg(test)]
mod flow_tests {
    use denbun_protocol::header::PartyId;
    use denbun_protocol::limits::DELIVERY_CHUNK_BYTES_MAX;
    use denbun_protocol::reject::RejectReason;
    use denbun_protocol::telegram::{
        Body, ContentBytes, DeliveryAcknowledgement, DeliveryFetch, DeliveryUpload, DigitalContent, ItemKind, Shipment,
    };
    use denbun_protocol::wire::{Blob, Text};
    use x25519_dalek::PublicKey as DeliveryKey;

    use crate::flows::testing::{Bench, item, rejected};
    use crate::storage::ledger_records::family;
    use crate::storage::{LedgerRange, ScanOrder};

    const CONTENT_BYTES: u64 = 40_000;
    /// 40,000 bytes seal into a full chunk of 32,752 plaintext bytes and one of 7,248, each with a 16-byte tag.
    const SEALED_BYTES: u64 = 40_032;
    const HASH: [u8; 32] = [0xAB; 32];

    struct Setup {
        bench: Bench,
        store: PartyId,
        member: PartyId,
        sealed: Vec<u8>,
    }

    fn setup() -> Setup {
        let mut bench = Bench::new();
        let store = bench.store();
        let content = DigitalContent { content_bytes: ContentBytes::new(CONTENT_BYTES).unwrap(), content_sha256: HASH };
        bench.publish(
            store,
            1,
            vec![item(1, "Song", 300, ItemKind::Digital(content)), item(2, "Poster", 700, ItemKind::MailOrder)],
        );
        let member = bench.funded_member(5_000);
        let answer = bench.send(member, Bench::instruction(store, 9, 1, &[(1, 1, 300)]));
        assert_eq!(rejected(&answer), None);
        let sealed = (0..SEALED_BYTES).map(|index| (index % 251) as u8).collect();
        Setup { bench, store, member, sealed }
    }

    fn upload(setup: &Setup, key: u8, offset: u64) -> DeliveryUpload {
        let start = offset as usize;
        let end = (start + DELIVERY_CHUNK_BYTES_MAX).min(setup.sealed.len());
        DeliveryUpload {
            transaction_number: 9,
            item_id: 1,
            ephemeral_key: DeliveryKey::from([key; 32]),
            sealed_bytes: SEALED_BYTES,
            offset,
            chunk: Blob::new(setup.sealed[start..end].to_vec()).unwrap(),
        }
    }

    fn received(answer: &denbun_protocol::telegram::Telegram) -> (u64, bool) {
        match answer.body() {
            Body::DeliveryUploadAnswer(answer) => (answer.received_bytes, answer.complete),
            other => panic!("expected an upload answer, got {other:?}"),
        }
    }

    fn chunks_held(bench: &Bench) -> usize {
        bench.read(|tx| {
            tx.ledger_scan(&LedgerRange::family(family::DELIVERY_CHUNK), ScanOrder::Ascending, 100).unwrap().len()
        })
    }

    #[test]
    fn digital_goods_are_relayed_sealed_resumably_and_acknowledged_with_their_hash() {
        let mut setup = setup();
        let (store, member) = (setup.store, setup.member);
        let first = upload(&setup, 5, 0);
        let second = upload(&setup, 5, DELIVERY_CHUNK_BYTES_MAX as u64);
        assert_eq!(received(&setup.bench.send(store, first.clone())), (32_768, false));
        // The line dropped; the store resends what it is unsure of, then goes on.
        assert_eq!(received(&setup.bench.send(store, first)), (32_768, false));
        assert!(
            setup.bench.mailbox(member).iter().all(|notice| !matches!(notice.body(), Body::DeliveryReadyNotice(_)))
        );
        assert_eq!(received(&setup.bench.send(store, second)), (SEALED_BYTES, true));

        let notices = setup.bench.mailbox(member);
        let ready = notices.iter().find_map(|notice| match notice.body() {
            Body::DeliveryReadyNotice(ready) => Some(ready.clone()),
            _ => None,
        });
        let ready = ready.expect("a delivery ready notice");
        assert_eq!(
            (ready.sealed_bytes, ready.content_sha256, ready.content_bytes.get()),
            (SEALED_BYTES, HASH, CONTENT_BYTES)
        );

        // Fetched in any order, as often as needed.
        let mut opened = vec![0u8; SEALED_BYTES as usize];
        for offset in [DELIVERY_CHUNK_BYTES_MAX as u64, 0, 0] {
            let answer = setup.bench.send(member, DeliveryFetch { transaction_number: 9, item_id: 1, offset });
            let Body::DeliveryChunk(chunk) = answer.body() else { panic!("{answer:?}") };
            assert_eq!(chunk.ephemeral_key.to_bytes(), [5; 32]);
            let start = offset as usize;
            opened[start..start + chunk.chunk.as_slice().len()].copy_from_slice(chunk.chunk.as_slice());
        }
        assert_eq!(opened, setup.sealed);
        let past_end = DeliveryFetch { transaction_number: 9, item_id: 1, offset: 2 * DELIVERY_CHUNK_BYTES_MAX as u64 };
        assert_eq!(rejected(&setup.bench.send(member, past_end)), Some(RejectReason::NotFound));

        let wrong = DeliveryAcknowledgement { transaction_number: 9, item_id: 1, content_sha256: [0; 32] };
        assert_eq!(rejected(&setup.bench.send(member, wrong)), Some(RejectReason::NotPermitted));
        let right = DeliveryAcknowledgement { transaction_number: 9, item_id: 1, content_sha256: HASH };
        let receipt = setup.bench.send(member, right.clone());
        let Body::DeliveryReceipt(receipt_body) = receipt.body() else { panic!("{receipt:?}") };
        assert_eq!(receipt_body.content_sha256, HASH);
        assert_eq!(receipt_body.store, store.try_into().unwrap());
        setup.bench.advance(1_000);
        let again = setup.bench.send(member, right);
        assert_eq!(again.body(), receipt.body(), "acknowledged once, at one time");
        let delivered = setup
            .bench
            .mailbox(store)
            .into_iter()
            .filter(|notice| matches!(notice.body(), Body::DeliveredNotice(_)))
            .count();
        assert_eq!(delivered, 1);
        assert_eq!(chunks_held(&setup.bench), 0, "relayed chunks are dropped once acknowledged");
        let after = DeliveryFetch { transaction_number: 9, item_id: 1, offset: 0 };
        assert_eq!(rejected(&setup.bench.send(member, after)), Some(RejectReason::AlreadyDone));
        assert_eq!(rejected(&setup.bench.send(store, upload(&setup, 5, 0))), Some(RejectReason::AlreadyDone));
        setup.bench.assert_audit_passes();
    }

    #[test]
    fn uploads_are_checked_against_the_purchase_and_the_catalog() {
        let mut setup = setup();
        let (store, member) = (setup.store, setup.member);
        let other_store = setup.bench.store();
        assert_eq!(rejected(&setup.bench.send(other_store, upload(&setup, 5, 0))), Some(RejectReason::NotFound));
        let mut not_digital = upload(&setup, 5, 0);
        not_digital.item_id = 2;
        assert_eq!(rejected(&setup.bench.send(store, not_digital)), Some(RejectReason::UnknownStoreOrItem));
        let mut wrong_size = upload(&setup, 5, 0);
        wrong_size.sealed_bytes = SEALED_BYTES + 1;
        assert_eq!(rejected(&setup.bench.send(store, wrong_size)), Some(RejectReason::NotPermitted));
        let skipped = upload(&setup, 5, DELIVERY_CHUNK_BYTES_MAX as u64);
        assert_eq!(rejected(&setup.bench.send(store, skipped)), Some(RejectReason::NotPermitted));
        let early = DeliveryFetch { transaction_number: 9, item_id: 1, offset: 0 };
        assert_eq!(rejected(&setup.bench.send(member, early.clone())), Some(RejectReason::NotFound));
        let stranger = setup.bench.member();
        assert_eq!(rejected(&setup.bench.send(stranger, early)), Some(RejectReason::NotFound));

        // A new sealing (another ephemeral key) from offset 0 replaces what was held.
        setup.bench.send(store, upload(&setup, 5, 0));
        let mut resealed = upload(&setup, 6, 0);
        let mut bytes = resealed.chunk.as_slice().to_vec();
        bytes[0] ^= 0xFF;
        resealed.chunk = Blob::new(bytes).unwrap();
        assert_eq!(received(&setup.bench.send(store, resealed)), (32_768, false));
        assert_eq!(rejected(&setup.bench.send(store, upload(&setup, 5, 32_768))), Some(RejectReason::NotPermitted));
        assert_eq!(received(&setup.bench.send(store, upload(&setup, 6, 32_768))), (SEALED_BYTES, true));
        let answer = setup.bench.send(member, DeliveryFetch { transaction_number: 9, item_id: 1, offset: 0 });
        let Body::DeliveryChunk(chunk) = answer.body() else { panic!("{answer:?}") };
        assert_eq!(chunk.chunk.as_slice()[0], setup.sealed[0] ^ 0xFF);
        assert_eq!(chunks_held(&setup.bench), 2);
        setup.bench.assert_audit_passes();
    }

    #[test]
    fn a_shipment_tells_the_member_and_completes_a_mail_order() {
        let mut setup = setup();
        let (store, member) = (setup.store, setup.member);
        let bench = &mut setup.bench;
        assert_eq!(rejected(&bench.send(member, Bench::instruction(store, 10, 1, &[(2, 1, 700)]))), None);
        let shipment = |tracking: &str| Shipment {
            transaction_number: 10,
            carrier: Text::new("Yamato").unwrap(),
            tracking: Text::new(tracking).unwrap(),
        };
        let digital_only = Shipment { transaction_number: 9, ..shipment("1") };
        assert_eq!(rejected(&bench.send(store, digital_only)), Some(RejectReason::NotPermitted));
        let answer = bench.send(store, shipment("1234-5678"));
        let Body::ShipmentAnswer(shipped) = answer.body() else { panic!("{answer:?}") };
        assert_eq!(shipped.member, member.try_into().unwrap());
        assert_eq!(rejected(&bench.send(store, shipment("1234-5678"))), None);
        assert_eq!(rejected(&bench.send(store, shipment("1234-5679"))), None);
        let tracking: Vec<String> = bench
            .mailbox(member)
            .iter()
            .filter_map(|notice| match notice.body() {
                Body::ShipmentNotice(notice) => Some(notice.tracking.to_string()),
                _ => None,
            })
            .collect();
        assert_eq!(tracking, ["1234-5678", "1234-5679"], "a correction is told, a repeat is not");
        let delivered = bench.read(|tx| super::transaction(tx, 10).unwrap().unwrap().delivered_at_ms);
        assert_ne!(delivered, 0);
        bench.assert_audit_passes();
    }
}
