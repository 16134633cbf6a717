//! The running center: its keys, its storage, the committer thread and the
//! registry of signed-on sessions, shared by every connection.

pub mod cache;
pub mod committer;
pub mod live;
#[cfg(test)]
mod pipeline_tests;
pub mod registry;
pub mod signing;
pub mod tx;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use denbun_protocol::header::PartyId;
use denbun_protocol::identity::CenterIdentity;
use denbun_protocol::keyfile::CenterKeyContents;
use denbun_protocol::session::CenterNoiseKey;
use denbun_protocol::sign::CenterFingerprint;
use ed25519_dalek::{SigningKey, VerifyingKey};
use tokio::sync::{mpsc, oneshot};

use crate::config::Config;
use crate::storage::{PartyRecord, Storage, StorageError};
use committer::{Committer, Inbound, Job, Reply};
use live::Live;
use registry::Registry;
use tx::Origin;

/// Jobs waiting for the committer; a full queue pushes back on connections.
const COMMIT_QUEUE_JOBS_MAX: usize = 4_096;

/// Verification keys kept decompressed, by party; past it the cache starts
/// again empty (about 13 MiB at most).
const VERIFICATION_KEYS_CACHED_MAX: usize = 65_536;

/// The center's clock: unix milliseconds. The only place that reads it.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// Why a job could not be handed to the committer.
#[derive(Debug, thiserror::Error)]
#[error("the center is shutting down")]
pub struct ShuttingDown;

/// Everything connections share.
pub struct Center {
    config: Config,
    identity: CenterIdentity,
    fingerprint: CenterFingerprint,
    signing_key: SigningKey,
    noise_key: CenterNoiseKey,
    storage: Arc<dyn Storage>,
    registry: Arc<Registry>,
    committer: mpsc::Sender<Job>,
    next_session: AtomicU64,
    live: Arc<Live>,
    /// Registered verification keys, decompressed. A key never changes once
    /// registered (the activation code that allowed it is used up), so a
    /// cached key stays right; parties without one are not cached.
    verification_keys: Mutex<HashMap<PartyId, VerifyingKey>>,
}

/// The committer thread; join it after the last [`Center`] handle is dropped.
pub struct CommitterThread(std::thread::JoinHandle<Result<(), StorageError>>);

impl CommitterThread {
    /// Waits until the committer has made the last group durable.
    pub fn join(self) -> Result<(), StorageError> {
        self.0.join().unwrap_or_else(|_| Err(StorageError::Io("the committer thread panicked".to_owned())))
    }
}

impl Center {
    /// Starts the committer over `storage` with the center's keys.
    /// `data_directory` receives letter files under `mail/` when given.
    pub fn start(
        config: Config,
        keys: &CenterKeyContents,
        storage: Arc<dyn Storage>,
        data_directory: Option<PathBuf>,
    ) -> std::io::Result<(Arc<Center>, CommitterThread)> {
        Self::start_with_backup(config, keys, storage, data_directory, None)
    }

    /// [`Center::start`], shipping every group to `backup` (opened with
    /// [`crate::backup::BackupSite::open`]) before it commits.
    pub fn start_with_backup(
        config: Config,
        keys: &CenterKeyContents,
        storage: Arc<dyn Storage>,
        data_directory: Option<PathBuf>,
        backup: Option<crate::backup::BackupSite>,
    ) -> std::io::Result<(Arc<Center>, CommitterThread)> {
        let signing_key = keys.signing_key();
        let fingerprint = CenterFingerprint::of(&signing_key.verifying_key());
        let noise_key = CenterNoiseKey::from_secret_bytes(keys.noise_secret_key.expose());
        let durable_notices = storage.counter(crate::storage::Counter::LastNotice).map_err(std::io::Error::other)?;
        let registry = Arc::new(Registry::with_durable_notices(durable_notices));
        let mail_directory = match &data_directory {
            Some(directory) => {
                let mail = directory.join("mail");
                std::fs::create_dir_all(&mail)?;
                Some(mail)
            }
            None => None,
        };
        let payout_directory = match &data_directory {
            Some(directory) => {
                let payouts = directory.join("payouts");
                std::fs::create_dir_all(&payouts)?;
                Some(payouts)
            }
            None => None,
        };
        let (sender, receiver) = mpsc::channel(COMMIT_QUEUE_JOBS_MAX);
        let live = Arc::new(Live::new(now_ms()));
        let committer = Committer {
            live: live.clone(),
            storage: storage.clone(),
            signing_key: signing_key.clone(),
            fingerprint,
            config: config.clone(),
            registry: registry.clone(),
            mail_directory,
            payout_directory,
            clock: now_ms,
            backup,
        };
        let thread = std::thread::Builder::new().name("committer".to_owned()).spawn(move || committer.run(receiver))?;
        let center = Center {
            config,
            identity: keys.identity.clone(),
            fingerprint,
            signing_key,
            noise_key,
            storage,
            registry,
            committer: sender,
            next_session: AtomicU64::new(1),
            live,
            verification_keys: Mutex::new(HashMap::new()),
        };
        Ok((Arc::new(center), CommitterThread(thread)))
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The public identity (what `center.pub` holds).
    pub fn identity(&self) -> &CenterIdentity {
        &self.identity
    }

    /// The fingerprint signed telegrams name.
    pub fn fingerprint(&self) -> &CenterFingerprint {
        &self.fingerprint
    }

    /// The key that signs answers and notices.
    pub fn signing_key(&self) -> &SigningKey {
        &self.signing_key
    }

    /// The Noise static key.
    pub fn noise_key(&self) -> &CenterNoiseKey {
        &self.noise_key
    }

    /// The storage (reads only: writes go through the committer).
    pub fn storage(&self) -> &Arc<dyn Storage> {
        &self.storage
    }

    /// Signed-on sessions.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// The live figures the console shows.
    pub fn live(&self) -> &Live {
        &self.live
    }

    /// A new session id.
    pub fn next_session_id(&self) -> u64 {
        self.next_session.fetch_add(1, Ordering::Relaxed)
    }

    /// Hands a job to the committer and waits until its answer is durable.
    pub async fn submit(&self, origin: Origin, inbound: Inbound) -> Result<Reply, ShuttingDown> {
        let (sender, receiver) = oneshot::channel();
        let job = Job { origin, inbound, reply: Some(sender) };
        let started = std::time::Instant::now();
        self.committer.send(job).await.map_err(|_| ShuttingDown)?;
        let reply = receiver.await.map_err(|_| ShuttingDown)?;
        let latency_us = u32::try_from(started.elapsed().as_micros()).unwrap_or(u32::MAX);
        self.live.answered(latency_us, now_ms());
        Ok(reply)
    }

    /// Journals a telegram that needs no answer (echo probes).
    pub async fn record(&self, origin: Origin, inbound: Inbound) -> Result<(), ShuttingDown> {
        let job = Job { origin, inbound, reply: None };
        self.committer.send(job).await.map_err(|_| ShuttingDown)
    }

    /// A register entry, read off the async workers.
    pub async fn party(&self, party: PartyId) -> Result<Option<PartyRecord>, StorageError> {
        let storage = self.storage.clone();
        tokio::task::spawn_blocking(move || storage.party(party))
            .await
            .unwrap_or_else(|_| Err(StorageError::Io("a storage read panicked".to_owned())))
    }

    /// The registered verification key of `party`, if it has one: from the
    /// cache, else read off the async workers (and decompressed) once.
    pub async fn verification_key(&self, party: PartyId) -> Result<Option<VerifyingKey>, StorageError> {
        if let Some(key) = self.verification_keys.lock().expect("key cache lock").get(&party) {
            return Ok(Some(*key));
        }
        let key = self
            .party(party)
            .await?
            .and_then(|record| record.verification_key)
            .and_then(|bytes| VerifyingKey::from_bytes(&bytes).ok());
        if let Some(key) = key {
            let mut keys = self.verification_keys.lock().expect("key cache lock");
            if keys.len() >= VERIFICATION_KEYS_CACHED_MAX {
                keys.clear();
            }
            keys.insert(party, key);
        }
        Ok(key)
    }
}
