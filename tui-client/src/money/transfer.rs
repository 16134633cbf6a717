//! Moving digital goods: the store seals an item to the member's delivery
//! key and uploads it chunk by chunk ([`Upload`]); the member fetches the
//! chunks by offset, opens them and checks the content against the
//! catalog's size and SHA-256 ([`Download`]). Both resume after a dropped
//! line: an upload keeps its sealing and goes on from what the center says
//! it holds; a download keeps what it opened in `OUTPUT.part` and goes on
//! from there, even in a later run. The sealing itself is
//! [`crate::delivery`] (docs/protocol.md section 14).

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use denbun_protocol::header::MemberNumber;
use denbun_protocol::keyfile::HistoryEntry;
use denbun_protocol::limits::{DELIVERY_CHUNK_BYTES_MAX, ITEM_TITLE_BYTES_MAX, SHA256_BYTES, TRADE_NAME_BYTES_MAX};
use denbun_protocol::telegram::{
    Body, ContentBytes, DeliveryChunk, DeliveryFetch, DeliveryReadyNotice, DeliveryUpload, DeliveryUploadAnswer,
    DigitalContent, PaymentNotice, Telegram, sealed_size,
};
use denbun_protocol::wire::{Blob, Text, Yen};
use ed25519_dalek::SigningKey;
use rand_core::OsRng;
use sha2::{Digest, Sha256};

use super::{MoneyError, request_for};
use crate::delivery::{DeliveryKey, PLAINTEXT_CHUNK_BYTES};
use crate::services::cut;
use crate::session::{Session, date_of_unix_ms};
use crate::vault::UnlockedVault;

const CHUNK_BYTES: u64 = DELIVERY_CHUNK_BYTES_MAX as u64;
const PLAIN_BYTES: u64 = PLAINTEXT_CHUNK_BYTES as u64;
/// Read buffer when hashing a file.
const HASH_BUFFER_BYTES: usize = 64 * 1024;

fn local(error: impl std::fmt::Display) -> MoneyError {
    MoneyError::Local(error.to_string())
}

/// Size and SHA-256 of a file, refusing anything larger than `limit_bytes`.
pub fn hash_file(path: &Path, limit_bytes: u64) -> Result<(u64, [u8; SHA256_BYTES]), MoneyError> {
    let file = File::open(path).map_err(|error| local(format!("Cannot read {}: {error}", path.display())))?;
    hash_reader(file, limit_bytes).map_err(|error| local(format!("Cannot read {}: {error}", path.display())))
}

fn hash_reader(mut reader: impl Read, limit_bytes: u64) -> std::io::Result<(u64, [u8; SHA256_BYTES])> {
    let mut hash = Sha256::new();
    let mut buffer = vec![0u8; HASH_BUFFER_BYTES];
    let mut total: u64 = 0;
    // Bounded: every round reads at least one byte of a file of at most `limit_bytes`.
    loop {
        let read = reader.read(&mut buffer)?;
        if read == 0 {
            return Ok((total, hash.finalize().into()));
        }
        total += read as u64;
        if total > limit_bytes {
            return Err(std::io::Error::other(format!("larger than {limit_bytes} bytes")));
        }
        hash.update(&buffer[..read]);
    }
}

/// Lower-case hex, for hashes shown to people.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// One digital item being sealed and uploaded by the store.
pub struct Upload {
    transaction_number: u64,
    item_id: u32,
    member: MemberNumber,
    file: File,
    key: DeliveryKey,
    ephemeral: [u8; 32],
    /// Sealed bytes the center holds (its last answer).
    offset: u64,
    /// The center's answer once the item is complete.
    completion: Option<Telegram>,
}

impl std::fmt::Debug for Upload {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Upload")
            .field("transaction_number", &self.transaction_number)
            .field("item_id", &self.item_id)
            .field("offset", &self.offset)
            .field("sealed_bytes", &self.key.sealed_bytes())
            .finish_non_exhaustive()
    }
}

impl Upload {
    /// Prepares item `item_id` of the purchase in `notice` (the center's
    /// signed payment notice, which carries the member's delivery key) from
    /// the file at `path`, with a fresh sealing. With `expected` (the
    /// catalog's size and SHA-256 for the item) a file that is not the item
    /// is refused here, before anything is sent.
    pub fn start(
        notice: &PaymentNotice,
        item_id: u32,
        path: &Path,
        expected: Option<&DigitalContent>,
    ) -> Result<Upload, MoneyError> {
        let transaction_number = notice.transaction_number;
        if !notice.lines.iter().any(|line| line.item_id == item_id) {
            return Err(local(format!("Purchase {transaction_number} has no item {item_id}.")));
        }
        let file = File::open(path).map_err(|error| local(format!("Cannot read {}: {error}", path.display())))?;
        let bytes = file.metadata().map_err(|error| local(format!("Cannot read {}: {error}", path.display())))?.len();
        let content = ContentBytes::new(bytes).ok_or_else(|| {
            local(format!("{} is empty or larger than a delivery may be ({bytes} bytes).", path.display()))
        })?;
        if let Some(expected) = expected {
            let (size, digest) = hash_file(path, content.get())?;
            if size != expected.content_bytes.get() || digest != expected.content_sha256 {
                return Err(local(format!(
                    "{} is not item {item_id} as the catalog describes it: the catalog promises {} bytes with SHA-256 \
                     {}, the file has {size} bytes with SHA-256 {}. The member's terminal would refuse it; deliver \
                     the file you published.",
                    path.display(),
                    expected.content_bytes.get(),
                    hex(&expected.content_sha256),
                    hex(&digest)
                )));
            }
        }
        let (key, ephemeral) = DeliveryKey::for_store(
            notice.member_delivery_key.as_bytes(),
            transaction_number,
            item_id,
            content,
            &mut OsRng,
        )
        .map_err(local)?;
        Ok(Upload {
            transaction_number,
            item_id,
            member: notice.member,
            file,
            key,
            ephemeral,
            offset: 0,
            completion: None,
        })
    }

    /// Size of the sealed item.
    pub fn sealed_bytes(&self) -> u64 {
        self.key.sealed_bytes()
    }

    /// Sealed bytes the center holds.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Whether the center holds the whole item (and has told the member).
    pub fn is_complete(&self) -> bool {
        self.completion.is_some()
    }

    /// The center's signed answer that it holds the whole item.
    pub fn completion(&self) -> Option<&Telegram> {
        self.completion.as_ref()
    }

    /// Seals and sends the next chunk (again, if its answer was lost), and
    /// takes the center's count of what it holds.
    pub async fn send_next(
        &mut self,
        vault: &mut UnlockedVault,
        session: &Session,
        key: &SigningKey,
    ) -> Result<DeliveryUploadAnswer, MoneyError> {
        let sealed_bytes = self.sealed_bytes();
        let index = self.offset / CHUNK_BYTES;
        let plain_bytes = self.key.plaintext_bytes_of(index).map_err(local)?;
        let mut plaintext = vec![0u8; plain_bytes];
        self.file
            .seek(SeekFrom::Start(index * PLAIN_BYTES))
            .and_then(|_| self.file.read_exact(&mut plaintext))
            .map_err(|error| local(format!("Cannot read the item's file: {error} (did it change?)")))?;
        let sealed = self.key.seal_chunk(index, &plaintext).map_err(local)?;
        let upload = DeliveryUpload {
            transaction_number: self.transaction_number,
            item_id: self.item_id,
            ephemeral_key: x25519_dalek::PublicKey::from(self.ephemeral),
            sealed_bytes,
            offset: self.offset,
            chunk: Blob::new(sealed).expect("a sealed chunk is at most DELIVERY_CHUNK_BYTES_MAX"),
        };
        let (answer, telegram) = request_for(vault, session, key, upload, |body| match body {
            Body::DeliveryUploadAnswer(answer) => Some(answer),
            _ => None,
        })
        .await?;
        if (answer.transaction_number, answer.item_id) != (self.transaction_number, self.item_id) {
            return Err(MoneyError::Inconsistent("the answer names another item".to_owned()));
        }
        if answer.complete {
            if answer.received_bytes != sealed_bytes {
                return Err(MoneyError::Inconsistent("complete, but not every byte is held".to_owned()));
            }
            self.offset = sealed_bytes;
            self.completion = Some(telegram);
        } else {
            // The center holds whole chunks from 0, more than before (a chunk
            // it held already is answered with its count too).
            let received = answer.received_bytes;
            if received <= self.offset || received >= sealed_bytes || !received.is_multiple_of(CHUNK_BYTES) {
                return Err(MoneyError::Inconsistent(format!(
                    "after the chunk at {} the center says it holds {received} bytes",
                    self.offset
                )));
            }
            self.offset = received;
        }
        Ok(answer)
    }

    /// Sends chunks until the center holds the whole item; `progress(sent,
    /// total)` after each. Call again after a dropped line, with a new
    /// session: it goes on from what the center holds.
    pub async fn run(
        &mut self,
        vault: &mut UnlockedVault,
        session: &Session,
        key: &SigningKey,
        mut progress: impl FnMut(u64, u64),
    ) -> Result<Telegram, MoneyError> {
        // Bounded: every answer moves the offset forward by a chunk or more.
        for _ in 0..=self.key.chunk_count() {
            if let Some(completion) = &self.completion {
                return Ok(completion.clone());
            }
            self.send_next(vault, session, key).await?;
            progress(self.offset, self.sealed_bytes());
        }
        self.completion.clone().ok_or_else(|| MoneyError::Inconsistent("the upload did not complete".to_owned()))
    }

    /// Keeps the center's signed answer that it holds the whole item in the
    /// history, as the store's receipt (so a later run knows it is uploaded).
    pub fn keep_receipt(&self, vault: &mut UnlockedVault) -> Result<(), MoneyError> {
        let Some(completion) = &self.completion else { return Ok(()) };
        if vault.history().iter().any(|entry| entry.receipt.as_slice() == completion.as_bytes()) {
            return Ok(());
        }
        let goods = format!("uploaded item {} of transaction {}", self.item_id, self.transaction_number);
        let entry = date_of_unix_ms(completion.header().sent_at_ms()).and_then(|date| {
            Some(HistoryEntry {
                date,
                store: Text::new(cut(&self.member.to_string(), TRADE_NAME_BYTES_MAX)).ok()?,
                goods: Text::new(cut(&goods, ITEM_TITLE_BYTES_MAX)).ok()?,
                amount: Yen::ZERO,
                receipt: Blob::new(completion.as_bytes().to_vec()).ok()?,
            })
        });
        if let Some(entry) = entry {
            vault.add_history(entry)?;
        }
        Ok(())
    }
}

/// One digital item being fetched and opened by the member, into
/// `OUTPUT.part` until it is whole and checked, then renamed to `OUTPUT`.
pub struct Download {
    ready: DeliveryReadyNotice,
    output: PathBuf,
    part: PathBuf,
    /// The part file; `None` when `OUTPUT` already holds the checked item.
    file: Option<File>,
    /// Sealed offset of the next chunk to fetch.
    offset: u64,
    /// The sealing's ephemeral key and the key that opens its chunks.
    opened: Option<([u8; 32], DeliveryKey)>,
}

impl std::fmt::Debug for Download {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Download")
            .field("transaction_number", &self.ready.transaction_number)
            .field("item_id", &self.ready.item_id)
            .field("output", &self.output)
            .field("offset", &self.offset)
            .finish_non_exhaustive()
    }
}

/// `OUTPUT.part`.
pub fn part_path(output: &Path) -> PathBuf {
    let mut name = output.as_os_str().to_owned();
    name.push(".part");
    PathBuf::from(name)
}

impl Download {
    /// Prepares fetching the item of `ready` (the center's signed ready
    /// notice, which repeats the catalog's size and SHA-256) into `output`.
    /// Whole chunks already in `OUTPUT.part` from an earlier run are kept; an
    /// `output` that already holds exactly this item needs no fetching.
    pub fn open(ready: &DeliveryReadyNotice, output: &Path) -> Result<Download, MoneyError> {
        let content_bytes = ready.content_bytes.get();
        if ready.sealed_bytes != sealed_size(ready.content_bytes) {
            return Err(MoneyError::Inconsistent("the ready notice's sizes do not fit together".to_owned()));
        }
        let mut download = Download {
            ready: ready.clone(),
            output: output.to_owned(),
            part: part_path(output),
            file: None,
            offset: 0,
            opened: None,
        };
        if output.exists() {
            let (size, digest) = hash_file(output, content_bytes)
                .map_err(|_| local(format!("{} already exists; choose another --output.", output.display())))?;
            if size == content_bytes && digest == ready.content_sha256 {
                download.offset = ready.sealed_bytes;
                return Ok(download);
            }
            return Err(local(format!(
                "{} already exists and is not this item; choose another --output (nothing was overwritten).",
                output.display()
            )));
        }
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&download.part)
            .map_err(|error| local(format!("Cannot write {}: {error}", download.part.display())))?;
        let held =
            file.metadata().map_err(|error| local(format!("Cannot read {}: {error}", download.part.display())))?.len();
        let chunk_count = ready.sealed_bytes.div_ceil(CHUNK_BYTES);
        // Whole chunks only: a chunk cut short by a crash is fetched again.
        let chunks_done = match held.cmp(&content_bytes) {
            std::cmp::Ordering::Greater => 0,
            std::cmp::Ordering::Equal => chunk_count,
            std::cmp::Ordering::Less => held / PLAIN_BYTES,
        };
        file.set_len((chunks_done * PLAIN_BYTES).min(content_bytes))
            .map_err(|error| local(format!("Cannot write {}: {error}", download.part.display())))?;
        download.offset = (chunks_done * CHUNK_BYTES).min(ready.sealed_bytes);
        download.file = Some(file);
        Ok(download)
    }

    /// Size of the sealed item.
    pub fn sealed_bytes(&self) -> u64 {
        self.ready.sealed_bytes
    }

    /// Sealed bytes fetched and opened so far.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Whether every chunk is fetched.
    pub fn is_complete(&self) -> bool {
        self.offset >= self.ready.sealed_bytes
    }

    /// Fetches, opens and writes the next chunk.
    pub async fn fetch_next(
        &mut self,
        vault: &mut UnlockedVault,
        session: &Session,
        key: &SigningKey,
    ) -> Result<(), MoneyError> {
        let (transaction_number, item_id) = (self.ready.transaction_number, self.ready.item_id);
        let fetch = DeliveryFetch { transaction_number, item_id, offset: self.offset };
        let (chunk, _) = request_for(vault, session, key, fetch, |body| match body {
            Body::DeliveryChunk(chunk) => Some(chunk),
            _ => None,
        })
        .await?;
        let DeliveryChunk {
            transaction_number: chunk_transaction,
            item_id: chunk_item,
            ephemeral_key,
            sealed_bytes,
            offset,
            chunk,
        } = chunk;
        if (chunk_transaction, chunk_item, offset, sealed_bytes)
            != (transaction_number, item_id, self.offset, self.ready.sealed_bytes)
        {
            return Err(MoneyError::Inconsistent(format!("asked for the chunk at {} of this item", self.offset)));
        }
        let ephemeral = ephemeral_key.to_bytes();
        if self.opened.as_ref().is_none_or(|(known, _)| *known != ephemeral) {
            // A store that sealed the item again (before it was acknowledged)
            // sealed the same content: what is already open stays valid.
            let opener = DeliveryKey::for_member(
                &vault.contents().delivery_secret_key,
                &ephemeral,
                transaction_number,
                item_id,
                sealed_bytes,
            )
            .map_err(local)?;
            self.opened = Some((ephemeral, opener));
        }
        let (_, opener) = self.opened.as_ref().expect("set just above");
        let index = self.offset / CHUNK_BYTES;
        let plaintext = opener
            .open_chunk(index, chunk.as_slice())
            .map_err(|error| local(format!("{error}. Fetch it again; if it keeps failing, contact the store.")))?;
        let part = &self.part;
        let file = self.file.as_mut().ok_or_else(|| local("the download is already complete"))?;
        file.seek(SeekFrom::Start(index * PLAIN_BYTES))
            .and_then(|_| file.write_all(&plaintext))
            .map_err(|error| local(format!("Cannot write {}: {error}", part.display())))?;
        self.offset += chunk.as_slice().len() as u64;
        Ok(())
    }

    /// Fetches chunks until the item is whole; `progress(fetched, total)`
    /// after each. Call again after a dropped line, with a new session.
    pub async fn run(
        &mut self,
        vault: &mut UnlockedVault,
        session: &Session,
        key: &SigningKey,
        mut progress: impl FnMut(u64, u64),
    ) -> Result<(), MoneyError> {
        // Bounded: every chunk moves the offset forward.
        for _ in 0..self.ready.sealed_bytes.div_ceil(CHUNK_BYTES) {
            if self.is_complete() {
                break;
            }
            self.fetch_next(vault, session, key).await?;
            progress(self.offset, self.sealed_bytes());
        }
        Ok(())
    }

    /// Checks the whole opened item against the catalog's size and SHA-256
    /// (from the ready notice) and moves it to `OUTPUT`; returns its
    /// SHA-256, which the acknowledgement carries. An item that does not
    /// match is removed, never acknowledged.
    pub fn finish(mut self) -> Result<[u8; SHA256_BYTES], MoneyError> {
        if !self.is_complete() {
            return Err(local("the download is not complete; fetch the rest first"));
        }
        let Some(mut file) = self.file.take() else { return Ok(self.ready.content_sha256) };
        let part = self.part.display().to_string();
        file.sync_all().map_err(|error| local(format!("Cannot write {part}: {error}")))?;
        file.seek(SeekFrom::Start(0)).map_err(|error| local(format!("Cannot read {part}: {error}")))?;
        let content_bytes = self.ready.content_bytes.get();
        let checked = hash_reader(&mut file, content_bytes);
        drop(file);
        match checked {
            Ok((size, digest)) if size == content_bytes && digest == self.ready.content_sha256 => {}
            _ => {
                let _ = std::fs::remove_file(&self.part);
                return Err(local(format!(
                    "The item does not match the catalog's size and SHA-256 ({}), so it was not kept and not \
                     acknowledged. Download it again; if it happens again, contact the store.",
                    hex(&self.ready.content_sha256)
                )));
            }
        }
        std::fs::rename(&self.part, &self.output)
            .map_err(|error| local(format!("Cannot save {}: {error}", self.output.display())))?;
        if let Some(directory) = self.output.parent().filter(|directory| !directory.as_os_str().is_empty())
            && let Ok(directory) = File::open(directory)
        {
            // The rename is durable before the acknowledgement says "received".
            let _ = directory.sync_all();
        }
        Ok(self.ready.content_sha256)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use denbun_protocol::header::StoreNumber;

    fn ready(content: &[u8]) -> DeliveryReadyNotice {
        let content_bytes = ContentBytes::new(content.len() as u64).unwrap();
        DeliveryReadyNotice {
            transaction_number: 5,
            item_id: 2,
            store: StoreNumber::new(1).unwrap(),
            content_bytes,
            content_sha256: Sha256::digest(content).into(),
            sealed_bytes: sealed_size(content_bytes),
        }
    }

    #[test]
    fn a_download_keeps_whole_chunks_of_an_earlier_run() {
        let directory = tempfile::tempdir().unwrap();
        let output = directory.path().join("guide.pdf");
        let content: Vec<u8> = (0..(PLAIN_BYTES * 2 + 10)).map(|index| index as u8).collect();
        let ready = ready(&content);
        // One whole chunk and part of the next from a run that was cut.
        std::fs::write(part_path(&output), &content[..PLAINTEXT_CHUNK_BYTES + 100]).unwrap();
        let download = Download::open(&ready, &output).unwrap();
        assert_eq!(download.offset(), CHUNK_BYTES);
        assert_eq!(std::fs::metadata(part_path(&output)).unwrap().len(), PLAIN_BYTES);
        assert!(!download.is_complete());
        // Everything there: nothing to fetch, and the check passes.
        std::fs::write(part_path(&output), &content).unwrap();
        let download = Download::open(&ready, &output).unwrap();
        assert!(download.is_complete());
        assert_eq!(download.finish().unwrap(), ready.content_sha256);
        assert_eq!(std::fs::read(&output).unwrap(), content);
        assert!(!part_path(&output).exists());
        // The output already holds the item: nothing more to do.
        assert!(Download::open(&ready, &output).unwrap().is_complete());
    }

    #[test]
    fn a_damaged_download_is_not_kept_and_another_file_is_not_overwritten() {
        let directory = tempfile::tempdir().unwrap();
        let output = directory.path().join("item.bin");
        let content = vec![7u8; 1_000];
        let ready = ready(&content);
        std::fs::write(part_path(&output), vec![8u8; 1_000]).unwrap();
        let error = Download::open(&ready, &output).unwrap().finish().unwrap_err();
        assert!(error.to_string().contains("not acknowledged"), "{error}");
        assert!(!part_path(&output).exists() && !output.exists());
        std::fs::write(&output, b"someone else's file").unwrap();
        let error = Download::open(&ready, &output).unwrap_err();
        assert!(error.to_string().contains("choose another --output"), "{error}");
        assert_eq!(std::fs::read(&output).unwrap(), b"someone else's file");
    }

    #[test]
    fn hashes_are_shown_in_hex_and_files_over_the_limit_are_refused() {
        assert_eq!(hex(&[0, 15, 255]), "000fff");
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("file");
        std::fs::write(&path, b"abc").unwrap();
        let (size, digest) = hash_file(&path, 3).unwrap();
        assert_eq!((size, hex(&digest[..4])), (3, "ba7816bf".to_owned()));
        assert!(hash_file(&path, 2).is_err());
    }
}
