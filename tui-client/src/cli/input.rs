//! What a person types: passwords and other secrets at a hidden prompt (or
//! from files named by the environment, for scripts), and plain answers.

use std::io::{BufRead, IsTerminal, Read, Write};
use std::path::Path;

use denbun_protocol::keyfile::Password;
use denbun_protocol::telegram::ActivationCode;
use zeroize::Zeroizing;

use super::{CliError, PASSWORD_A_FILE_ENV, PASSWORD_B_FILE_ENV};
use crate::keys::SeedPhrase;

/// Largest file read for one secret (a password, a code, a phrase).
const SECRET_FILE_BYTES_MAX: u64 = 4_096;
/// Longest line read from a prompt.
const ANSWER_BYTES_MAX: u64 = 4_096;

/// Which password.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Which {
    /// Opens the key file: history and outbox.
    A,
    /// Opens the signature key.
    B,
}

impl Which {
    fn environment_variable(self) -> &'static str {
        match self {
            Which::A => PASSWORD_A_FILE_ENV,
            Which::B => PASSWORD_B_FILE_ENV,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Which::A => "password A",
            Which::B => "password B",
        }
    }
}

/// Whether someone is at the keyboard to answer questions.
pub(crate) fn is_interactive() -> bool {
    std::io::stdin().is_terminal()
}

/// Whether the passwords come from files (a script is running us).
pub(crate) fn passwords_from_files() -> bool {
    std::env::var_os(PASSWORD_A_FILE_ENV).is_some()
}

/// An existing password: from its file, or asked once at a hidden prompt.
pub(crate) fn password(which: Which) -> Result<Password, CliError> {
    if let Some(path) = std::env::var_os(which.environment_variable()) {
        let text = read_secret_file(Path::new(&path), which.name())?;
        return Ok(Password::new(text.to_string()));
    }
    let prompt = match which {
        Which::A => "Password A (opens your key file): ",
        Which::B => "Password B (for signing): ",
    };
    Ok(Password::new(prompt_hidden(prompt, which)?.to_string()))
}

/// A new password: from its file, or typed twice at a hidden prompt.
pub(crate) fn new_password(which: Which) -> Result<Password, CliError> {
    if let Some(path) = std::env::var_os(which.environment_variable()) {
        let text = read_secret_file(Path::new(&path), which.name())?;
        return Ok(Password::new(text.to_string()));
    }
    let prompt = match which {
        Which::A => "Choose password A (opens your key file and history): ",
        Which::B => "Choose password B (needed to sign; make it different from A): ",
    };
    let first = prompt_hidden(prompt, which)?;
    if first.is_empty() {
        return Err(CliError::Usage(format!("An empty {} is not allowed; run the command again.", which.name())));
    }
    let second = prompt_hidden(&format!("Type {} again: ", which.name()), which)?;
    if first != second {
        return Err(CliError::Usage(format!(
            "The two entries of {} differ; nothing was created. Run the command again.",
            which.name()
        )));
    }
    Ok(Password::new(first.to_string()))
}

fn prompt_hidden(prompt: &str, which: Which) -> Result<Zeroizing<String>, CliError> {
    rpassword::prompt_password(prompt).map(Zeroizing::new).map_err(|error| {
        CliError::Usage(format!(
            "Cannot ask for {} ({error}): there is no terminal. Put it in a file readable only by you and set {} \
             to that file's path.",
            which.name(),
            which.environment_variable()
        ))
    })
}

/// The activation code from the letter: from `file`, or at a hidden prompt.
pub(crate) fn activation_code(file: Option<&Path>) -> Result<ActivationCode, CliError> {
    let text = match file {
        Some(path) => read_secret_file(path, "the activation code")?,
        None => {
            rpassword::prompt_password("Activation code from your letter: ").map(Zeroizing::new).map_err(|error| {
                CliError::Usage(format!(
                    "Cannot ask for the activation code ({error}): there is no terminal. Pass \
                     --activation-code-file FILE."
                ))
            })?
        }
    };
    ActivationCode::new(text.trim()).ok_or_else(|| {
        CliError::Usage(
            "That is not an activation code: it has 1 to 16 letters, digits or signs and no spaces, as printed in \
             your letter."
                .to_owned(),
        )
    })
}

/// The optional seed phrase: from `file`; else asked at a hidden prompt when
/// someone is at the keyboard and no script supplies the passwords.
pub(crate) fn seed_phrase(file: Option<&Path>) -> Result<Option<SeedPhrase>, CliError> {
    if let Some(path) = file {
        let text = read_secret_file(path, "the seed phrase")?;
        return Ok(Some(SeedPhrase::new(text.to_string())));
    }
    if !is_interactive() || passwords_from_files() {
        return Ok(None);
    }
    let prompt = "Seed phrase (optional: any phrase, mixed into your key's randomness; Enter to skip): ";
    let text = rpassword::prompt_password(prompt).map(Zeroizing::new).unwrap_or_default();
    Ok((!text.is_empty()).then(|| SeedPhrase::new(text.to_string())))
}

/// `given`, or the answer to `question` when someone is at the keyboard.
pub(crate) fn value_or_prompt(given: Option<&str>, flag: &str, question: &str) -> Result<String, CliError> {
    if let Some(value) = given {
        return Ok(value.to_owned());
    }
    if !is_interactive() {
        return Err(CliError::Usage(format!("Missing {flag}.")));
    }
    let answer = prompt_line(question)?;
    if answer.is_empty() {
        return Err(CliError::Usage(format!("Nothing entered for {flag}; run the command again.")));
    }
    Ok(answer)
}

/// Asks a yes/no question; only "y" or "yes" mean yes.
pub(crate) fn confirm(question: &str) -> Result<bool, CliError> {
    let answer = prompt_line(&format!("{question} [y/N] "))?;
    Ok(matches!(answer.to_ascii_lowercase().as_str(), "y" | "yes"))
}

fn prompt_line(question: &str) -> Result<String, CliError> {
    let mut stderr = std::io::stderr();
    let _ = write!(stderr, "{question}");
    let _ = stderr.flush();
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .take(ANSWER_BYTES_MAX)
        .read_line(&mut line)
        .map_err(|error| CliError::Failed(format!("Cannot read the answer: {error}")))?;
    Ok(line.trim().to_owned())
}

/// Reads a secret from a file: at most [`SECRET_FILE_BYTES_MAX`] bytes of
/// UTF-8, one trailing line break removed, not empty.
pub(crate) fn read_secret_file(path: &Path, what: &str) -> Result<Zeroizing<String>, CliError> {
    let failed = |detail: String| CliError::Failed(format!("Cannot read {what} from {}: {detail}", path.display()));
    let file = std::fs::File::open(path).map_err(|error| failed(error.to_string()))?;
    let mut bytes = Zeroizing::new(Vec::new());
    file.take(SECRET_FILE_BYTES_MAX + 1).read_to_end(&mut bytes).map_err(|error| failed(error.to_string()))?;
    if bytes.len() as u64 > SECRET_FILE_BYTES_MAX {
        return Err(failed(format!("the file is longer than {SECRET_FILE_BYTES_MAX} bytes")));
    }
    let text = std::str::from_utf8(&bytes).map_err(|_| failed("the file is not text (UTF-8)".to_owned()))?;
    let text = text.strip_suffix('\n').map_or(text, |text| text.strip_suffix('\r').unwrap_or(text));
    if text.is_empty() {
        return Err(failed("the file is empty".to_owned()));
    }
    Ok(Zeroizing::new(text.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_files_lose_one_line_break_and_nothing_else() {
        let directory = tempfile::tempdir().unwrap();
        let cases: [(&[u8], Option<&str>); 7] = [
            (b"secret\n", Some("secret")),
            (b"secret\r\n", Some("secret")),
            (b"secret", Some("secret")),
            (b" two words \n\n", Some(" two words \n")),
            (b"\n", None),
            (b"", None),
            (b"\xff\xfe", None),
        ];
        for (index, (bytes, expected)) in cases.iter().enumerate() {
            let path = directory.path().join(format!("secret{index}"));
            std::fs::write(&path, bytes).unwrap();
            let read = read_secret_file(&path, "a password").ok().map(|text| text.to_string());
            assert_eq!(read.as_deref(), *expected, "{bytes:?}");
        }
        let long = directory.path().join("long");
        std::fs::write(&long, vec![b'a'; SECRET_FILE_BYTES_MAX as usize + 1]).unwrap();
        let error = read_secret_file(&long, "password A").unwrap_err();
        assert!(error.message().contains("longer than"), "{error}");
        let missing = read_secret_file(&directory.path().join("missing"), "password A").unwrap_err();
        assert!(missing.message().contains("password A"), "{missing}");
    }

    #[test]
    fn activation_codes_from_files_are_trimmed_and_checked() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("code");
        std::fs::write(&path, "K7Q2-9XPM\n").unwrap();
        assert_eq!(activation_code(Some(&path)).unwrap().expose(), "K7Q2-9XPM");
        std::fs::write(&path, "two words").unwrap();
        assert!(matches!(activation_code(Some(&path)), Err(CliError::Usage(_))));
    }
}
