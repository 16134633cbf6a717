//! Family 99: the reject telegram (9910), the center's answer to any
//! telegram it refuses.
//!
//! ```text
//! terminal                              center
//!   | 4000 payment instruction ------------> | balance too low
//!   | <-- 9910 reject: result 400 (insufficient balance), refused code 4000,
//!   |          processing number echoed, readable message
//! ```
//!
//! The reason is the header's result field (the only telegram where it is
//! not 0); the body is the refused code and a message.

use crate::header::Header;
use crate::limits::{MESSAGE_BYTES_MAX, TELEGRAM_CODE_MAX};
use crate::reject::RejectReason;
use crate::telegram::{BodyCodec, EncodedBytesMax};
use crate::wire::{DecodeError, Reader, Text, Wire, Writer};

/// `9910`: a refusal. `reason` travels in the header's result field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reject {
    /// Why (the header's result code).
    pub reason: RejectReason,
    /// The code of the refused telegram as it arrived (repeat digit
    /// included), or 0 when it could not be read at all.
    pub refused_code: u16,
    /// A readable explanation; the reason's default message unless the
    /// center has something more specific to say.
    pub message: Text<MESSAGE_BYTES_MAX>,
}

impl Reject {
    pub(crate) fn check(&self) -> Result<(), &'static str> {
        if self.refused_code <= TELEGRAM_CODE_MAX { Ok(()) } else { Err("refused code must be 0..=9999") }
    }
}

impl BodyCodec for Reject {
    fn encode_body(&self, writer: &mut Writer) {
        writer.put(&self.refused_code);
        writer.put(&self.message);
    }

    fn decode_body(header: &Header, reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        // Header::decode has checked that a reject's result is a known reason.
        let reason = header.reject_reason().ok_or_else(|| DecodeError::invalid(u64::from(header.result())))?;
        let refused_code = u16::decode(reader).map_err(|error| error.in_field("refused_code"))?;
        let message = Text::decode(reader).map_err(|error| error.in_field("message"))?;
        Ok(Reject { reason, refused_code, message })
    }
}

impl EncodedBytesMax for Reject {
    const ENCODED_BYTES_MAX: usize = 2 + 2 + MESSAGE_BYTES_MAX;
}
