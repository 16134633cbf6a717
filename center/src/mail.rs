//! Activation letters: the text printed and posted to an applicant.

use crate::storage::LetterRecord;

/// The letter as printed.
pub fn letter_text(letter: &LetterRecord) -> String {
    format!(
        "Denbun settlement center — letter {id:06}\n\
         \n\
         To: {name}\n\
         \x20   {address}\n\
         \n\
         Your application has been accepted. Your number is {party}.\n\
         \n\
         Activation code: {code}\n\
         \n\
         Enter this code when you register at your terminal. It works once,\n\
         until {expires} (UTC). Keep it private: with it, someone else could\n\
         register in your name.\n",
        id = letter.id,
        name = letter.name,
        address = letter.address,
        party = letter.recipient,
        code = letter.activation_code.expose(),
        expires = format_utc(letter.expires_at_ms),
    )
}

/// `YYYY-MM-DD HH:MM` in UTC for unix milliseconds.
pub fn format_utc(unix_ms: u64) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]");
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(unix_ms) * 1_000_000)
        .ok()
        .and_then(|moment| moment.format(&format).ok())
        .unwrap_or_else(|| format!("(unix ms {unix_ms})"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_times_format_as_calendar_dates() {
        assert_eq!(format_utc(0), "1970-01-01 00:00");
        assert_eq!(format_utc(951_782_400_000), "2000-02-29 00:00");
        assert_eq!(format_utc(1_795_525_500_000), "2026-11-24 13:05");
    }
}
