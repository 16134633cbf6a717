//! Input fields and forms.
//!
//! Plain text fields use `tui-input` (cursor movement, word deletion,
//! Unicode widths done right). Secret fields (passwords, the activation code,
//! the seed phrase) are our own: `tui-input` keeps its text in a `String`
//! that grows by reallocation and cannot be wiped, so a secret field keeps
//! its characters in one zeroizing buffer reserved up front (it never
//! reallocates, so no copy is left behind) and hands it over as a
//! [`Password`] whose memory is wiped when dropped. Secret fields are never
//! drawn: they show one bullet per character.

use crossterm::event::{Event as TermEvent, KeyCode, KeyEvent, KeyModifiers};
use denbun_protocol::keyfile::Password;
use tui_input::Input;
use tui_input::backend::crossterm::to_input_request;
use zeroize::{Zeroize, Zeroizing};

/// Most bytes a secret field holds (far more than any password needs).
pub const SECRET_BYTES_MAX: usize = 256;
/// Most bytes a text field holds (the longest protocol text a form asks for).
pub const TEXT_BYTES_MAX: usize = 1_024;

/// A one-line text field.
#[derive(Clone, Debug, Default)]
pub struct TextField {
    input: Input,
    bytes_max: usize,
}

impl TextField {
    /// An empty field that holds at most `bytes_max` bytes.
    pub fn new(bytes_max: usize) -> Self {
        Self { input: Input::default(), bytes_max: bytes_max.min(TEXT_BYTES_MAX) }
    }

    /// A field holding `value`.
    pub fn with_value(bytes_max: usize, value: &str) -> Self {
        let mut field = Self::new(bytes_max);
        field.set(value);
        field
    }

    /// Replaces the text.
    pub fn set(&mut self, value: &str) {
        let value = crate::services::cut(value, self.bytes_max);
        self.input = Input::new(value.to_owned());
    }

    /// The text.
    pub fn value(&self) -> &str {
        self.input.value()
    }

    /// The cursor's column on screen and the scroll for a field `width` wide.
    pub fn cursor(&self, width: usize) -> (usize, usize) {
        let scroll = self.input.visual_scroll(width);
        (self.input.visual_cursor().saturating_sub(scroll), scroll)
    }

    /// Edits with `key`; false when the key is not an editing key.
    pub fn handle(&mut self, key: KeyEvent) -> bool {
        let Some(request) = to_input_request(&TermEvent::Key(key)) else { return false };
        let before = self.input.clone();
        self.input.handle(request);
        if self.input.value().len() > self.bytes_max {
            self.input = before;
        }
        true
    }
}

/// A hidden field for a secret.
pub struct SecretField {
    buffer: Zeroizing<String>,
}

impl Default for SecretField {
    fn default() -> Self {
        Self { buffer: Zeroizing::new(String::with_capacity(SECRET_BYTES_MAX)) }
    }
}

impl std::fmt::Debug for SecretField {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "SecretField({} characters)", self.len())
    }
}

impl SecretField {
    /// How many characters were typed (what the bullets show).
    pub fn len(&self) -> usize {
        self.buffer.chars().count()
    }

    /// Whether nothing was typed.
    pub fn is_empty(&self) -> bool {
        self.buffer.is_empty()
    }

    /// Edits with `key`: characters, Backspace, Ctrl-U (clear); false for other keys.
    pub fn handle(&mut self, key: KeyEvent) -> bool {
        match key.code {
            KeyCode::Char('u') if key.modifiers.contains(KeyModifiers::CONTROL) => {
                self.buffer.zeroize();
                true
            }
            KeyCode::Char(_) if key.modifiers.intersects(KeyModifiers::CONTROL | KeyModifiers::ALT) => false,
            KeyCode::Char(character) => {
                // Never past the reserved capacity: growing would copy the secret.
                if self.buffer.len() + character.len_utf8() <= SECRET_BYTES_MAX {
                    self.buffer.push(character);
                }
                true
            }
            KeyCode::Backspace => {
                self.buffer.pop();
                true
            }
            _ => false,
        }
    }

    /// Whether two fields hold the same text.
    pub fn same_as(&self, other: &SecretField) -> bool {
        // Both were typed by the person at this terminal: no timing to hide.
        self.buffer.as_str() == other.buffer.as_str()
    }

    /// How strong the typed password looks.
    pub fn strength(&self) -> Strength {
        Strength::of(&self.buffer)
    }

    /// Hands the text over as a password and leaves the field empty. The
    /// buffer moves into the password (no copy), which wipes it when dropped.
    pub fn take(&mut self) -> Password {
        let text = std::mem::replace(&mut *self.buffer, String::with_capacity(SECRET_BYTES_MAX));
        Password::new(text)
    }

    /// Hands the text over as a plain zeroizing string and leaves the field empty.
    pub fn take_text(&mut self) -> Zeroizing<String> {
        Zeroizing::new(std::mem::replace(&mut *self.buffer, String::with_capacity(SECRET_BYTES_MAX)))
    }

    /// Wipes the text.
    pub fn clear(&mut self) {
        self.buffer.zeroize();
    }

    /// Fills the field (tests and the demo's scripted runs only).
    pub fn fill(&mut self, text: &str) {
        self.buffer.zeroize();
        for character in text.chars() {
            if self.buffer.len() + character.len_utf8() <= SECRET_BYTES_MAX {
                self.buffer.push(character);
            }
        }
    }

    /// Runs `check` over the text without copying it.
    pub fn check<T>(&self, check: impl FnOnce(&str) -> T) -> T {
        check(&self.buffer)
    }
}

/// A rough strength estimate of a password, for the hint beside the field.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Strength {
    /// Nothing typed.
    Empty,
    /// Easy to guess.
    Weak,
    /// Fair.
    Fair,
    /// Hard to guess.
    Strong,
}

impl Strength {
    /// Estimates from length and the kinds of characters used (bits of a
    /// random password of that shape; real passwords are weaker, hence the
    /// generous thresholds).
    pub fn of(text: &str) -> Strength {
        if text.is_empty() {
            return Strength::Empty;
        }
        let mut pool = 0u32;
        if text.chars().any(|character| character.is_ascii_lowercase()) {
            pool += 26;
        }
        if text.chars().any(|character| character.is_ascii_uppercase()) {
            pool += 26;
        }
        if text.chars().any(|character| character.is_ascii_digit()) {
            pool += 10;
        }
        if text.chars().any(|character| !character.is_ascii_alphanumeric()) {
            pool += 33;
        }
        let bits = f64::from(pool).log2() * text.chars().count() as f64;
        match bits {
            bits if bits < 45.0 => Strength::Weak,
            bits if bits < 70.0 => Strength::Fair,
            _ => Strength::Strong,
        }
    }

    /// The hint shown beside the field.
    pub fn hint(self) -> &'static str {
        match self {
            Strength::Empty => "",
            Strength::Weak => "weak: use 12 or more characters, or four unrelated words",
            Strength::Fair => "fair: a few more characters make it strong",
            Strength::Strong => "strong",
        }
    }
}

/// What a form field holds.
#[derive(Debug)]
pub enum FieldKind {
    /// Free text.
    Text(TextField),
    /// A secret, shown as bullets.
    Secret(SecretField),
    /// One of a few options, changed with ←/→.
    Choice {
        /// The options.
        options: &'static [&'static str],
        /// The one chosen.
        selected: usize,
    },
}

/// One labelled field of a form.
#[derive(Debug)]
pub struct Field {
    /// Its label.
    pub label: &'static str,
    /// A hint shown after the field (format, limits).
    pub hint: &'static str,
    /// What it holds.
    pub kind: FieldKind,
}

impl Field {
    /// A text field.
    pub fn text(label: &'static str, hint: &'static str, bytes_max: usize, value: &str) -> Self {
        Field { label, hint, kind: FieldKind::Text(TextField::with_value(bytes_max, value)) }
    }

    /// A secret field.
    pub fn secret(label: &'static str, hint: &'static str) -> Self {
        Field { label, hint, kind: FieldKind::Secret(SecretField::default()) }
    }

    /// A choice.
    pub fn choice(label: &'static str, hint: &'static str, options: &'static [&'static str], selected: usize) -> Self {
        Field { label, hint, kind: FieldKind::Choice { options, selected: selected.min(options.len() - 1) } }
    }
}

/// A form: labelled fields, one focused.
#[derive(Debug)]
pub struct Form {
    /// The fields, top to bottom.
    pub fields: Vec<Field>,
    /// The focused field.
    pub focus: usize,
    /// What is wrong with the input, shown under the fields.
    pub error: Option<String>,
}

/// What a key did to a form.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FormOutcome {
    /// Nothing more to do.
    Editing,
    /// Enter on the last field: check and submit.
    Submit,
    /// Esc: leave the form.
    Cancel,
}

impl Form {
    /// A form with `fields`, the first focused.
    pub fn new(fields: Vec<Field>) -> Self {
        Self { fields, focus: 0, error: None }
    }

    /// Handles one key.
    pub fn handle(&mut self, key: KeyEvent) -> FormOutcome {
        let last = self.fields.len().saturating_sub(1);
        match key.code {
            KeyCode::Esc => return FormOutcome::Cancel,
            KeyCode::Enter if self.focus >= last => return FormOutcome::Submit,
            KeyCode::Enter | KeyCode::Tab | KeyCode::Down => self.focus = (self.focus + 1).min(last),
            KeyCode::BackTab | KeyCode::Up => self.focus = self.focus.saturating_sub(1),
            _ => {
                let Some(field) = self.fields.get_mut(self.focus) else { return FormOutcome::Editing };
                let changed = match &mut field.kind {
                    FieldKind::Text(text) => text.handle(key),
                    FieldKind::Secret(secret) => secret.handle(key),
                    FieldKind::Choice { options, selected } => match key.code {
                        KeyCode::Left => {
                            *selected = (*selected + options.len() - 1) % options.len();
                            true
                        }
                        KeyCode::Right | KeyCode::Char(' ') => {
                            *selected = (*selected + 1) % options.len();
                            true
                        }
                        _ => false,
                    },
                };
                if changed {
                    self.error = None;
                }
            }
        }
        FormOutcome::Editing
    }

    /// The text of field `index` (empty for other kinds).
    pub fn text(&self, index: usize) -> &str {
        match self.fields.get(index).map(|field| &field.kind) {
            Some(FieldKind::Text(text)) => text.value().trim(),
            _ => "",
        }
    }

    /// The choice of field `index` (0 for other kinds).
    pub fn choice(&self, index: usize) -> usize {
        match self.fields.get(index).map(|field| &field.kind) {
            Some(FieldKind::Choice { selected, .. }) => *selected,
            _ => 0,
        }
    }

    /// The secret field `index`.
    pub fn secret_mut(&mut self, index: usize) -> Option<&mut SecretField> {
        match self.fields.get_mut(index).map(|field| &mut field.kind) {
            Some(FieldKind::Secret(secret)) => Some(secret),
            _ => None,
        }
    }

    /// The secret field `index`, to read.
    pub fn secret(&self, index: usize) -> Option<&SecretField> {
        match self.fields.get(index).map(|field| &field.kind) {
            Some(FieldKind::Secret(secret)) => Some(secret),
            _ => None,
        }
    }

    /// Wipes every secret field (when the form is left or submitted).
    pub fn wipe(&mut self) {
        for field in &mut self.fields {
            if let FieldKind::Secret(secret) = &mut field.kind {
                secret.clear();
            }
        }
    }

    /// Shows `error` and focuses field `index`.
    pub fn fail(&mut self, index: usize, error: impl Into<String>) {
        self.focus = index.min(self.fields.len().saturating_sub(1));
        self.error = Some(error.into());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    #[test]
    fn secret_fields_never_reallocate_and_hand_over_their_text() {
        let mut field = SecretField::default();
        let capacity = field.buffer.capacity();
        for _ in 0..SECRET_BYTES_MAX + 10 {
            field.handle(key(KeyCode::Char('x')));
        }
        assert_eq!(field.len(), SECRET_BYTES_MAX, "input stops at the reserved size");
        assert_eq!(field.buffer.capacity(), capacity, "never reallocated");
        field.handle(key(KeyCode::Backspace));
        assert_eq!(field.len(), SECRET_BYTES_MAX - 1);
        field.handle(KeyEvent::new(KeyCode::Char('u'), KeyModifiers::CONTROL));
        assert!(field.is_empty());
        field.fill("pass word");
        let password = field.take();
        assert_eq!(password.as_bytes(), b"pass word");
        assert!(field.is_empty());
        assert_eq!(format!("{field:?}"), "SecretField(0 characters)");
    }

    #[test]
    fn strength_grows_with_length_and_variety() {
        assert_eq!(Strength::of(""), Strength::Empty);
        assert_eq!(Strength::of("hanako"), Strength::Weak);
        assert_eq!(Strength::of("hanako1990"), Strength::Fair);
        assert_eq!(Strength::of("correct horse battery staple"), Strength::Strong);
    }

    #[test]
    fn forms_move_between_fields_and_submit_on_the_last() {
        let mut form = Form::new(vec![
            Field::text("Name", "", 8, ""),
            Field::choice("Kind", "", &["a", "b", "c"], 0),
            Field::secret("Secret", ""),
        ]);
        for character in "Hanako-Yamada".chars() {
            form.handle(key(KeyCode::Char(character)));
        }
        assert_eq!(form.text(0), "Hanako-Y", "limited to 8 bytes");
        assert_eq!(form.handle(key(KeyCode::Enter)), FormOutcome::Editing);
        form.handle(key(KeyCode::Left));
        assert_eq!(form.choice(1), 2, "wraps around");
        form.handle(key(KeyCode::Tab));
        form.handle(key(KeyCode::Char('s')));
        assert_eq!(form.secret(2).map(SecretField::len), Some(1));
        assert_eq!(form.handle(key(KeyCode::Enter)), FormOutcome::Submit);
        form.wipe();
        assert_eq!(form.secret(2).map(SecretField::len), Some(0));
        assert_eq!(form.handle(key(KeyCode::Esc)), FormOutcome::Cancel);
    }
}
