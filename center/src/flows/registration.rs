//! Families 10–12: guide text, application and registration (the patent's
//! claim 1).

use denbun_protocol::header::{PartyId, PartyKind};
use denbun_protocol::limits::MESSAGE_BYTES_MAX;
use denbun_protocol::reject::RejectReason;
use denbun_protocol::telegram::registration::{
    ActivationCode, Applicant, Application, ApplicationAccepted, GuideRequest, GuideText, GuideTopic, Registration,
    RegistrationCertificate,
};
use denbun_protocol::wire::{Blob, Text, encode_to_vec};
use rand_core::{OsRng, RngCore};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::{Decision, FlowContext};
use crate::service::tx::Tx;
use crate::storage::records::{Activation, activation_digest};
use crate::storage::{Counter, LetterRecord, PartyRecord, PartyStatus, StorageError};

/// Characters of an activation code: no 0/O or 1/I/L, which people misread
/// from paper.
const ACTIVATION_ALPHABET: &[u8; 31] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";
/// Characters in each of the two groups of a code (`XXXXX-XXXXX`, about 49 bits).
const ACTIVATION_GROUP_CHARACTERS: usize = 5;

/// The text for `topic` and its version (the first four bytes of its
/// SHA-256, so the version changes whenever the text does).
pub fn guide_text<'c>(context: &FlowContext<'c>, topic: GuideTopic) -> (u32, &'c str) {
    let texts = &context.config.texts;
    let text = match topic {
        GuideTopic::Guide => &texts.guide,
        GuideTopic::MemberAgreement => &texts.member_agreement,
        GuideTopic::StoreAgreement => &texts.store_agreement,
    };
    let digest = Sha256::digest(text.as_bytes());
    (u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]]), text)
}

/// `1000`: the guide or an agreement.
pub fn guide(context: &FlowContext<'_>, request: &GuideRequest) -> Decision {
    let (version, text) = guide_text(context, request.topic);
    let text = Text::new(text).expect("the configuration limits texts to the field's size");
    Decision::answer(GuideText { topic: request.topic, version, text })
}

/// A fresh activation code from the OS generator.
fn new_activation_code() -> ActivationCode {
    let mut code = String::with_capacity(2 * ACTIVATION_GROUP_CHARACTERS + 1);
    for index in 0..2 * ACTIVATION_GROUP_CHARACTERS {
        if index == ACTIVATION_GROUP_CHARACTERS {
            code.push('-');
        }
        // Rejection sampling keeps every character equally likely.
        let character = loop {
            let byte = (OsRng.next_u32() & 0xff) as usize;
            if byte < 248 {
                break ACTIVATION_ALPHABET[byte % ACTIVATION_ALPHABET.len()];
            }
        };
        code.push(char::from(character));
    }
    ActivationCode::new(&code).expect("the alphabet is printable ASCII and the code short")
}

/// `1100`: an application. Assigns a number and mails an activation code.
pub fn apply(tx: &mut Tx<'_>, context: &FlowContext<'_>, application: &Application) -> Result<Decision, StorageError> {
    let (kind, topic, trade_name) = match &application.applicant {
        Applicant::Member => (PartyKind::Member, GuideTopic::MemberAgreement, None),
        Applicant::Store(trade_name) => (PartyKind::Store, GuideTopic::StoreAgreement, Some(trade_name.clone())),
    };
    let (agreement_version, _) = guide_text(context, topic);
    if application.agreement_version != agreement_version {
        return Ok(Decision::reject_with(
            RejectReason::NotPermitted,
            "the agreement has changed since you read it; read it again and apply",
        ));
    }
    let counter = if kind == PartyKind::Member { Counter::LastMember } else { Counter::LastStore };
    let number = tx.next(counter)?;
    let party = PartyId::new(kind, number).expect("numbers start at 1 and stay far below the maximum");
    let code = new_activation_code();
    let ttl_ms = u64::from(context.config.limits.activation_code_ttl_hours) * 3_600_000;
    let expires_at_ms = tx.now_ms().saturating_add(ttl_ms);
    tx.put_party(PartyRecord {
        party,
        status: PartyStatus::Applied,
        name: application.personal.name.clone(),
        address: application.personal.address.clone(),
        date_of_birth: Some(application.personal.date_of_birth),
        trade_name,
        bank_account: Blob::default(),
        verification_key: None,
        delivery_key: None,
        activation: Some(Activation {
            code_digest: activation_digest(party, code.expose()),
            expires_at_ms,
            attempts_left: context.config.limits.activation_attempts_max,
        }),
        applied_at_ms: tx.now_ms(),
        registered_at_ms: 0,
    });
    let letter_id = tx.next(Counter::LastLetter)?;
    tx.letter(LetterRecord {
        id: letter_id,
        recipient: party,
        name: application.personal.name.clone(),
        address: application.personal.address.clone(),
        activation_code: code,
        expires_at_ms,
        created_at_ms: tx.now_ms(),
        printed_at_ms: None,
    });
    let message = format!(
        "Your number is {party}. Your activation code comes by post to the address you gave; \
         register with it before it expires."
    );
    Ok(Decision::answer(ApplicationAccepted {
        assigned: party,
        activation_code_expires_at_ms: expires_at_ms,
        message: Text::new(message).expect("the message is far shorter than MESSAGE_BYTES_MAX"),
    }))
}

/// `1200`: registration. The connection has already verified the signature
/// with the verification key in the body (proof of possession).
pub fn register(
    tx: &mut Tx<'_>,
    _context: &FlowContext<'_>,
    sender: PartyId,
    registration: &Registration,
) -> Result<Decision, StorageError> {
    let Some(mut record) = tx.party(sender)? else {
        return Ok(Decision::reject_with(RejectReason::UnknownSender, format!("{sender} has not applied")));
    };
    if record.status != PartyStatus::Applied {
        return Ok(Decision::reject(RejectReason::ActivationCodeUsed));
    }
    let Some(mut activation) = record.activation.clone() else {
        return Ok(Decision::reject(RejectReason::ActivationCodeUsed));
    };
    if activation.attempts_left == 0 {
        return Ok(Decision::reject(RejectReason::TooManyAttempts));
    }
    if tx.now_ms() > activation.expires_at_ms {
        return Ok(Decision::reject(RejectReason::ActivationCodeExpired));
    }
    let digest = activation_digest(sender, registration.activation_code.expose());
    if !bool::from(digest.ct_eq(&activation.code_digest)) {
        activation.attempts_left -= 1;
        let attempts_left = activation.attempts_left;
        record.activation = Some(activation);
        tx.put_party(record);
        let message = match attempts_left {
            0 => "wrong activation code; no attempts left, the application is locked: apply again".to_owned(),
            left => format!("wrong activation code; {left} attempts left"),
        };
        return Ok(Decision::reject_with(RejectReason::WrongActivationCode, message));
    }
    if registration.verification_key.is_weak() {
        return Ok(Decision::reject_with(
            RejectReason::NotPermitted,
            "the verification key is weak; generate a new key pair",
        ));
    }
    record.status = PartyStatus::Registered;
    record.name = registration.personal.name.clone();
    record.address = registration.personal.address.clone();
    record.date_of_birth = Some(registration.personal.date_of_birth);
    if let Some(store) = &registration.store {
        record.trade_name = Some(store.trade_name.clone());
        record.bank_account =
            Blob::new(encode_to_vec(&store.payout_account)).expect("a bank account fits its register field");
    }
    record.verification_key = Some(registration.verification_key.to_bytes());
    record.delivery_key = Some(registration.delivery_key.to_bytes());
    record.activation = None;
    record.registered_at_ms = tx.now_ms();
    let shown_name = match &record.trade_name {
        Some(trade_name) => Text::new(trade_name.as_str()).unwrap_or_else(|_| record.name.clone()),
        None => record.name.clone(),
    };
    let certificate = RegistrationCertificate {
        party: sender,
        name: shown_name,
        verification_key: registration.verification_key,
        delivery_key: registration.delivery_key,
        registered_at_ms: record.registered_at_ms,
    };
    tx.put_party(record);
    Ok(Decision::answer(certificate))
}

const _: () = assert!(MESSAGE_BYTES_MAX >= 160, "application messages need room");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn activation_codes_are_two_groups_from_the_unambiguous_alphabet() {
        for _ in 0..100 {
            let code = new_activation_code();
            let text = code.expose();
            assert_eq!(text.len(), 11);
            assert_eq!(&text[5..6], "-");
            assert!(text.bytes().filter(|byte| *byte != b'-').all(|byte| ACTIVATION_ALPHABET.contains(&byte)));
        }
        assert_ne!(new_activation_code().expose(), new_activation_code().expose());
    }
}
