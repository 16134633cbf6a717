//! What can go wrong in a session, in words a member can act on.

use std::time::Duration;

use denbun_protocol::header::Code;
use denbun_protocol::reject::RejectReason;
use denbun_protocol::sign::BuildError;
use denbun_protocol::telegram::Telegram;

use crate::line::LineError;

/// Why a session call failed.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// The TCP connection could not be made.
    #[error(
        "Could not connect to the center at {address}: {source}. Check the address and your network, and that the \
         center is running, then try again."
    )]
    Connect {
        /// Where we tried to connect.
        address: String,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// The TCP connection did not open in time.
    #[error(
        "The center at {address} did not accept the connection within {} s. Check the address and your network, \
         then try again.",
        timeout.as_secs()
    )]
    ConnectTimeout {
        /// Where we tried to connect.
        address: String,
        /// How long we waited.
        timeout: Duration,
    },
    /// The Noise handshake failed: a wrong `center.pub`, or not a Denbun center.
    #[error(
        "Could not open a secure session with the center ({0}). If this persists, the program at that address is \
         not the center on your center.pub card: compare the card's fingerprint with the one the center publishes."
    )]
    Handshake(#[source] LineError),
    /// The `center.pub` card holds a verification key that is not a usable key.
    #[error("The center's verification key on the center.pub card is not a usable key. Ask the center for a new card.")]
    UnusableCenterKey,
    /// The center refused the telegram with a signed reject.
    #[error("{0}")]
    Rejected(Box<Rejection>),
    /// The line went down before the answer came.
    #[error("The line to the center is down: {0}. Connect again; telegrams waiting in the outbox are sent again then.")]
    LineDown(DownReason),
    /// No answer within the answer deadline. The request may still have been
    /// applied: the outbox sends it again, and the center answers a repeat
    /// with its original answer.
    #[error(
        "No answer from the center to telegram {code} (processing number {processing_number}) within {} s. The \
         center may still have applied it; if it waits in the outbox, it is sent again at the next connection and \
         the center answers it only once.",
        timeout.as_secs()
    )]
    AnswerTimeout {
        /// The request's code.
        code: Code,
        /// The request's processing number.
        processing_number: u64,
        /// How long we waited.
        timeout: Duration,
    },
    /// The connection task did not take the command in time.
    #[error("The session is too busy to take another request within {} s; try again.", timeout.as_secs())]
    Busy {
        /// How long we waited.
        timeout: Duration,
    },
    /// Too many requests wait for an answer already.
    #[error("{max} requests already wait for the center's answer; wait for some answers first.")]
    TooManyPending {
        /// The limit.
        max: usize,
    },
    /// A request with this sender and processing number already waits.
    #[error("A request with processing number {processing_number} already waits for its answer in this session.")]
    AlreadyPending {
        /// The processing number.
        processing_number: u64,
    },
    /// The telegram is not a request to the center.
    #[error("Telegram {code} is not a request to the center, so it cannot be sent as one.")]
    NotARequest {
        /// Its code.
        code: Code,
    },
    /// `request` was given a sign-on.
    #[error("A sign-on is sent with Session::sign_on, which binds it to the session.")]
    UseSignOn,
    /// A call that needs a signed-on session (acknowledgement, mailbox, sign-off).
    #[error("Sign on first: this needs a signed-on session.")]
    NotSignedOn,
    /// An acknowledgement for a notice this session has not delivered.
    #[error(
        "Cannot acknowledge notices up to sequence {up_to_sequence}: this session has delivered notices only up to \
         {}.",
        delivered_up_to.map_or_else(|| "none".to_owned(), |sequence| sequence.to_string())
    )]
    NotDelivered {
        /// What the caller asked to acknowledge.
        up_to_sequence: u64,
        /// The highest sequence delivered in this session.
        delivered_up_to: Option<u64>,
    },
    /// The answer's code matched, but its body was not the expected one.
    #[error("The center answered with an unexpected telegram {code}.")]
    UnexpectedAnswer {
        /// The answer's code.
        code: Code,
    },
    /// The telegram could not be built (a bug in the caller).
    #[error("Cannot build the telegram: {0}")]
    Build(#[from] BuildError),
}

impl SessionError {
    /// The reject, if the center refused the telegram.
    pub fn rejection(&self) -> Option<&Rejection> {
        match self {
            SessionError::Rejected(rejection) => Some(rejection),
            _ => None,
        }
    }
}

/// A verified reject (9910) from the center: why it refused the telegram.
#[derive(Clone, Debug)]
pub struct Rejection {
    /// The reason (the header's result code).
    pub reason: RejectReason,
    /// The refused code as the center read it (0 if unreadable).
    pub refused_code: u16,
    /// The center's message.
    pub message: String,
    /// The signed reject itself, as evidence.
    pub telegram: Telegram,
}

impl Rejection {
    /// Whether sending the same telegram again later may succeed (the center
    /// was busy, limited the rate, could not store, failed internally, or
    /// wants a sign-on first): these are the refusals the center does not
    /// keep as the telegram's answer. For every other reason the center keeps
    /// its signed refusal under the telegram's processing number and answers
    /// a repeat with it, byte for byte, so the same telegram is refused
    /// forever. That includes a frozen account: the refusal stands after the
    /// account is unfrozen, and the member signs the payment again then.
    pub fn retry_may_succeed(&self) -> bool {
        matches!(
            self.reason,
            RejectReason::RateLimited
                | RejectReason::Busy
                | RejectReason::StorageUnavailable
                | RejectReason::InternalError
                | RejectReason::NotSignedOn
        )
    }
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            formatter,
            "The center refused telegram {:04}: {} (reason {}).",
            self.refused_code,
            self.message,
            self.reason.code()
        )?;
        if self.retry_may_succeed() {
            formatter.write_str(" Try again later.")?;
        }
        Ok(())
    }
}

/// Why the line went down. Every waiting request fails with it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DownReason {
    /// This program closed the session (the handle was dropped).
    #[error("this program closed the session")]
    ClosedByTerminal,
    /// The session signed off and the center confirmed it.
    #[error("signed off")]
    SignedOff,
    /// The center closed the connection.
    #[error("the center closed the connection")]
    ClosedByCenter,
    /// Nothing came from the center for too long.
    #[error("nothing was heard from the center for {} s", .0.as_secs())]
    Silent(Duration),
    /// The connection failed (socket error, frame deadline, write deadline).
    #[error("the connection failed ({0})")]
    Connection(String),
    /// The Noise layer refused a message: modified or out of order.
    #[error("a message on the line failed decryption ({0}); the session was ended")]
    Decryption(String),
    /// The center sent bytes that are not a valid telegram.
    #[error("the center sent a malformed telegram ({0}); the session was ended")]
    Malformed(String),
    /// A telegram claiming to come from the center did not verify with the
    /// center's key from `center.pub`. Never shown as valid.
    #[error(
        "telegram {code} claiming to come from the center failed signature verification, so the session was ended \
         and nothing from it was accepted; if this happens again, check that center.pub is the right card"
    )]
    BadSignature {
        /// The forged telegram's code.
        code: Code,
    },
    /// The center broke the protocol (an answer of the wrong code, a notice
    /// for someone else, …).
    #[error("the center broke the protocol: {0}")]
    Protocol(String),
}

impl DownReason {
    pub(crate) fn from_line(error: LineError) -> Self {
        match error {
            LineError::Session(error) => DownReason::Decryption(error.to_string()),
            other => DownReason::Connection(other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use denbun_protocol::header::PartyId;
    use denbun_protocol::reject::Refused;
    use denbun_protocol::sign::Signer;
    use denbun_protocol::telegram::GuideRequest;
    use denbun_protocol::telegram::GuideTopic;
    use ed25519_dalek::SigningKey;

    fn rejection(reason: RejectReason) -> Rejection {
        let center_key = SigningKey::from_bytes(&[1; 32]);
        let request = Signer::anonymous().request(5, 0, GuideRequest { topic: GuideTopic::Guide }).unwrap();
        let telegram = Signer::center(&center_key)
            .reject(&Refused::from_header(request.header()), reason, Some("the detail"), 0)
            .unwrap();
        assert_eq!(telegram.header().recipient(), PartyId::ANONYMOUS);
        Rejection { reason, refused_code: 1000, message: "the detail".to_owned(), telegram }
    }

    #[test]
    fn only_transient_reasons_are_worth_a_retry() {
        let transient = [
            RejectReason::RateLimited,
            RejectReason::Busy,
            RejectReason::StorageUnavailable,
            RejectReason::InternalError,
            RejectReason::NotSignedOn,
        ];
        for reason in RejectReason::ALL {
            let rejection = rejection(*reason);
            assert_eq!(rejection.retry_may_succeed(), transient.contains(reason), "{reason:?}");
            let shown = rejection.to_string();
            assert!(shown.contains("1000") && shown.contains("the detail"), "{shown}");
            assert!(shown.contains(&reason.code().to_string()), "{shown}");
            assert_eq!(shown.contains("Try again later"), transient.contains(reason), "{shown}");
        }
    }

    #[test]
    fn line_errors_after_the_handshake_say_whether_the_session_layer_failed() {
        let decryption =
            DownReason::from_line(LineError::Session(denbun_protocol::session::SessionError::DecryptFailed));
        assert!(matches!(decryption, DownReason::Decryption(_)), "{decryption}");
        let timeout = DownReason::from_line(LineError::FrameTimeout(Duration::from_secs(10)));
        assert!(matches!(timeout, DownReason::Connection(_)), "{timeout}");
        let shown = SessionError::LineDown(DownReason::BadSignature { code: Code::GUIDE_ANSWER }).to_string();
        assert!(shown.contains("1010") && shown.contains("failed signature verification"), "{shown}");
    }
}
