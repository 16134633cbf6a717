//! A minimal fake center for tests: the center's keys and identity card,
//! and the center's end of one connection, built from the line layer and the
//! protocol crate. Each test scripts what it says.

#![allow(dead_code)] // Each test binary uses a different part.

use std::time::Duration;

use denbun_client::keys::generate_center_keys;
use denbun_client::line::{FrameReader, ReadEvent, handshake_as_center, write_frame};
use denbun_protocol::header::Code;
use denbun_protocol::identity::CenterIdentity;
use denbun_protocol::session::{CenterNoiseKey, Transport};
use denbun_protocol::sign::{CenterFingerprint, Signer};
use denbun_protocol::telegram::{SignOnAnswer, Telegram};
use denbun_protocol::wire::Text;
use ed25519_dalek::SigningKey;
use rand_chacha::ChaCha20Rng;
use rand_core::{OsRng, SeedableRng};
use tokio::net::{TcpListener, TcpStream};

/// The fake center's keys and its `center.pub` identity.
pub struct Center {
    pub signing_key: SigningKey,
    pub noise_key: CenterNoiseKey,
    pub identity: CenterIdentity,
}

impl Center {
    /// A center whose keys come from `seed`; its card says `127.0.0.1:1`
    /// until [`Center::at`] sets the real address.
    pub fn new(seed: u64) -> Self {
        let keys = generate_center_keys(&mut ChaCha20Rng::seed_from_u64(seed));
        let identity = CenterIdentity {
            name: Text::new("Fake Center").unwrap(),
            address: Text::new("127.0.0.1:1").unwrap(),
            verification_key: keys.verification_key,
            noise_public_key: keys.noise_public_key,
        };
        Self {
            signing_key: SigningKey::from_bytes(keys.signing_seed.expose()),
            noise_key: CenterNoiseKey::from_secret_bytes(keys.noise_secret_key.expose()),
            identity,
        }
    }

    pub fn fingerprint(&self) -> CenterFingerprint {
        self.identity.fingerprint()
    }

    pub fn signer(&self) -> Signer<'_> {
        Signer::center(&self.signing_key)
    }
}

/// The center's end of one connection.
pub struct Peer {
    pub reader: FrameReader<TcpStream>,
    pub transport: Transport,
}

impl Peer {
    pub async fn accept(listener: &TcpListener, center: &Center) -> Peer {
        let (stream, _) = listener.accept().await.unwrap();
        let mut reader = FrameReader::new(stream, Duration::from_secs(10));
        let transport =
            handshake_as_center(&mut reader, &center.noise_key, &mut OsRng, Duration::from_secs(5)).await.unwrap();
        Peer { reader, transport }
    }

    pub async fn receive(&mut self) -> Telegram {
        match self.reader.next(None).await.unwrap() {
            ReadEvent::Frame(payload) => Telegram::decode(&self.transport.open(&payload).unwrap()).unwrap(),
            other => panic!("expected a telegram from the terminal, got {other:?}"),
        }
    }

    pub async fn send(&mut self, telegram: &Telegram) {
        let sealed = self.transport.seal(telegram.as_bytes()).unwrap();
        write_frame(self.reader.get_mut(), &sealed).await.unwrap();
    }

    /// Receives a sign-on, checks it is bound to this session, and answers it.
    pub async fn answer_sign_on(&mut self, center: &Center, member_key: &SigningKey, mailbox_count: u32) {
        let sign_on = self.receive().await;
        assert_eq!(sign_on.code(), Code::SIGN_ON);
        sign_on
            .verify_sign_on(&member_key.verifying_key(), &center.fingerprint(), &self.transport.handshake_hash())
            .expect("the sign-on is signed and bound to this session");
        let answer = center
            .signer()
            .answer(sign_on.header(), 1_000, SignOnAnswer { mailbox_count, center_time_ms: 1_000 })
            .unwrap();
        self.send(&answer).await;
    }
}

pub async fn listen() -> (TcpListener, String) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    (listener, address)
}

impl Center {
    /// The same center with `address` on its card.
    pub fn at(mut self, address: &str) -> Self {
        self.identity.address = Text::new(address).unwrap();
        self
    }
}
