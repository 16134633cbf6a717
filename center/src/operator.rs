//! An operator at work: signed on to the running center with an operator key
//! file, sending signed operator telegrams through the outbox.
//!
//! The operator commands of `denbun-center` and the console use this; the
//! running center owns the data directory, so everything an operator changes
//! travels as a signed telegram and is journaled like any other.

use std::path::Path;

use denbun_client::session::{Answer, Session, SessionConfig, SessionError, SubmitError, submit, unix_time_ms};
use denbun_client::vault::{IdentityCardFile, UnlockedVault, Vault, VaultError};
use denbun_protocol::header::PartyId;
use denbun_protocol::identity::CenterIdentity;
use denbun_protocol::keyfile::Password;
use denbun_protocol::sign::Signer;
use denbun_protocol::telegram::Body;
use ed25519_dalek::SigningKey;

/// Why an operator could not work.
#[derive(Debug, thiserror::Error)]
pub enum OperatorError {
    /// The key file or the center card could not be used.
    #[error("{0}")]
    Vault(#[from] VaultError),
    /// The line or the center refused.
    #[error("{0}")]
    Session(#[from] SessionError),
    /// Sending a telegram failed.
    #[error("{0}")]
    Submit(#[from] SubmitError),
    /// The key file does not belong to an operator.
    #[error("{0} is not an operator's key file (it belongs to {1})")]
    NotAnOperator(String, String),
    /// The telegram could not be built (nothing was sent).
    #[error("cannot sign this telegram: {0}")]
    Build(String),
}

async fn connect_and_sign_on(
    identity: &CenterIdentity,
    vault: &mut UnlockedVault,
    key: &SigningKey,
    party: PartyId,
) -> Result<Session, OperatorError> {
    let session = Session::connect(identity.address.as_str(), identity, SessionConfig::default()).await?;
    let processing_number = vault.allocate_processing_number()?;
    session.sign_on(key, party, processing_number).await?;
    // An operator takes no notices; they stay in the center's mailbox.
    session.ignore_notices().await?;
    // Anything an earlier run left unanswered goes first; if it still gets
    // no answer, the operator's new telegram would wait behind it.
    let report = denbun_client::session::run_outbox(vault, &session).await?;
    if let Some(error) = report.stopped {
        return Err(OperatorError::Session(error));
    }
    Ok(session)
}

/// A signed-on operator.
pub struct Operator {
    vault: UnlockedVault,
    key: SigningKey,
    session: Session,
    party: PartyId,
    identity: CenterIdentity,
}

impl Operator {
    /// Opens the operator key file, connects to the center on `center_card`
    /// and signs on.
    pub async fn sign_on(
        center_card: &Path,
        key_file: &Path,
        password_a: &Password,
        password_b: &Password,
    ) -> Result<Operator, OperatorError> {
        let identity = CenterIdentity::read(center_card)?;
        let mut vault = Vault::open(key_file, password_a)?;
        let party = vault.profile().party;
        if party.kind() != denbun_protocol::header::PartyKind::Operator {
            return Err(OperatorError::NotAnOperator(key_file.display().to_string(), party.to_string()));
        }
        let key = vault.signing_key(password_b)?.signing_key().clone();
        let session = connect_and_sign_on(&identity, &mut vault, &key, party).await?;
        Ok(Operator { vault, key, session, party, identity })
    }

    /// Connects and signs on again after the line went down (the key file
    /// and the signature key stay open, so no password is asked again).
    /// Whatever waits in the outbox is sent first.
    pub async fn reconnect(&mut self) -> Result<(), OperatorError> {
        self.session = connect_and_sign_on(&self.identity, &mut self.vault, &self.key, self.party).await?;
        Ok(())
    }

    /// Whether the line to the center is up.
    pub fn line_is_up(&self) -> bool {
        matches!(self.session.line_state(), denbun_client::session::LineState::Up)
    }

    /// The center's identity card, as read at sign-on.
    pub fn center(&self) -> &CenterIdentity {
        &self.identity
    }

    /// Sends a read-only operator query signed with a fresh processing
    /// number, outside the outbox: a lost answer is simply asked for again,
    /// and no receipt goes into the key file's history (the console polls;
    /// receipts of every poll would fill it).
    pub async fn query(&mut self, body: impl Into<Body>) -> Result<Answer, OperatorError> {
        let processing_number = self.vault.allocate_processing_number()?;
        let telegram = Signer::new(self.party, &self.key, self.session.fingerprint())
            .map_err(|error| OperatorError::Build(error.to_string()))?
            .request(processing_number, unix_time_ms(), body)
            .map_err(|error| OperatorError::Build(error.to_string()))?;
        Ok(self.session.request(&telegram).await?)
    }

    /// The operator's registered verification key.
    pub fn verification_key(&self) -> ed25519_dalek::VerifyingKey {
        self.key.verifying_key()
    }

    /// Who is signed on.
    pub fn party(&self) -> PartyId {
        self.party
    }

    /// Sends one operator telegram through the outbox and returns the
    /// center's verified answer.
    pub async fn request(&mut self, body: impl Into<Body>) -> Result<Answer, OperatorError> {
        Ok(submit(&mut self.vault, &self.session, &self.key, body).await?)
    }
}
