//! First run and unlocking: welcome, the guide and the agreement, the
//! application, the registration wizard, the certificate, password A.

use crossterm::event::{KeyCode, KeyEvent};
use denbun_protocol::header::{PartyId, PartyKind};
use denbun_protocol::limits::{ACCOUNT_HOLDER_BYTES_MAX, ADDRESS_BYTES_MAX, NAME_BYTES_MAX, TRADE_NAME_BYTES_MAX};
use denbun_protocol::telegram::{
    AccountType, ActivationCode, Applicant, BankAccount, Digits, GuideTopic, PersonalData, StoreRegistration,
};
use denbun_protocol::wire::{Date, Text};

use super::{
    App, Applied, ApplyScreen, Busy, Effect, Mode, RegisterRequest, ResendRequest, Screen, Update, date_of_unix_ms_text,
};
use crate::keys::SeedPhrase;
use crate::terminal::field::{Field, Form, FormOutcome, SecretField};

/// Shortest password accepted for a new key file.
pub const PASSWORD_CHARS_MIN: usize = 8;

/// The steps of the registration wizard.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// Number and activation code from the letter.
    Letter,
    /// Personal data (and a store's trade name and bank account).
    Details,
    /// Password A, twice.
    PasswordA,
    /// Password B, twice (once when resuming).
    PasswordB,
    /// The optional seed phrase.
    Seed,
    /// Check and create.
    Confirm,
}

impl Step {
    /// The step's title.
    pub fn title(self) -> &'static str {
        match self {
            Step::Letter => "Your letter",
            Step::Details => "Your details",
            Step::PasswordA => "Password A",
            Step::PasswordB => "Password B",
            Step::Seed => "Seed phrase",
            Step::Confirm => "Check and register",
        }
    }
}

/// The registration wizard.
#[derive(Debug)]
pub struct Wizard {
    /// Member or store.
    pub mode: Mode,
    /// The steps of this run.
    pub steps: Vec<Step>,
    /// The step shown.
    pub step: usize,
    /// Number and code.
    pub letter: Form,
    /// Personal data.
    pub details: Form,
    /// Password A, twice.
    pub password_a: Form,
    /// Password B (twice, or once when resuming).
    pub password_b: Form,
    /// The seed phrase.
    pub seed: Form,
    /// Whether the key file exists already (only the registration is sent again).
    pub resume: bool,
    /// What went wrong the last time.
    pub error: Option<String>,
}

fn letter_form(number: &str) -> Form {
    Form::new(vec![
        Field::text("Number", "from your application, e.g. M00000001", 16, number),
        Field::secret("Activation code", "from your letter; hidden as you type"),
    ])
}

fn details_form(mode: Mode, applied: Option<&Applied>) -> Form {
    let value = |pick: fn(&Applied) -> &str| applied.map(pick).unwrap_or("");
    let mut fields = vec![
        Field::text("Name", "full name", NAME_BYTES_MAX, value(|applied| &applied.name)),
        Field::text("Address", "postal address", ADDRESS_BYTES_MAX, value(|applied| &applied.address)),
        Field::text("Date of birth", "YYYY-MM-DD", 10, value(|applied| &applied.date_of_birth)),
    ];
    if mode == Mode::Store {
        fields.extend([
            Field::text("Trade name", "shown to members", TRADE_NAME_BYTES_MAX, value(|applied| &applied.trade_name)),
            Field::text("Bank code", "4 digits", 4, ""),
            Field::text("Branch code", "3 digits", 3, ""),
            Field::choice("Account type", "←/→ to change", &["ordinary", "current", "savings"], 0),
            Field::text("Account number", "7 digits", 7, ""),
            Field::text("Account holder", "as the bank writes it", ACCOUNT_HOLDER_BYTES_MAX, ""),
        ]);
    }
    Form::new(fields)
}

impl Wizard {
    /// A new registration, filled from the application when there is one.
    pub fn new(mode: Mode, applied: Option<&Applied>) -> Self {
        let number = applied.map(|applied| applied.number.to_string()).unwrap_or_default();
        Wizard {
            mode,
            steps: vec![Step::Letter, Step::Details, Step::PasswordA, Step::PasswordB, Step::Seed, Step::Confirm],
            step: 0,
            letter: letter_form(&number),
            details: details_form(mode, applied),
            password_a: Form::new(vec![
                Field::secret("Password A", "opens your key file and history"),
                Field::secret("Again", "type it once more"),
            ]),
            password_b: Form::new(vec![
                Field::secret("Password B", "needed to sign; not the same as A"),
                Field::secret("Again", "type it once more"),
            ]),
            seed: Form::new(vec![Field::secret("Seed phrase", "optional; Enter alone: random only")]),
            resume: false,
            error: None,
        }
    }

    /// Sending the registration again for an existing key file of `party`;
    /// asks for password B unless signing is unlocked.
    pub fn resume(mode: Mode, party: PartyId, needs_password_b: bool, applied: Option<&Applied>) -> Self {
        let mut wizard = Wizard::new(mode, applied);
        wizard.letter = letter_form(&party.to_string());
        wizard.resume = true;
        wizard.password_b = Form::new(vec![Field::secret("Password B", "the one you chose when registering")]);
        wizard.steps = if needs_password_b {
            vec![Step::Letter, Step::Details, Step::PasswordB, Step::Confirm]
        } else {
            vec![Step::Letter, Step::Details, Step::Confirm]
        };
        wizard
    }

    /// The step shown.
    pub fn current(&self) -> Step {
        self.steps[self.step.min(self.steps.len() - 1)]
    }

    /// The form of the step shown (none for the last step).
    pub fn form(&self) -> Option<&Form> {
        match self.current() {
            Step::Letter => Some(&self.letter),
            Step::Details => Some(&self.details),
            Step::PasswordA => Some(&self.password_a),
            Step::PasswordB => Some(&self.password_b),
            Step::Seed => Some(&self.seed),
            Step::Confirm => None,
        }
    }

    fn form_mut(&mut self) -> Option<&mut Form> {
        match self.current() {
            Step::Letter => Some(&mut self.letter),
            Step::Details => Some(&mut self.details),
            Step::PasswordA => Some(&mut self.password_a),
            Step::PasswordB => Some(&mut self.password_b),
            Step::Seed => Some(&mut self.seed),
            Step::Confirm => None,
        }
    }

    fn wipe(&mut self) {
        for form in [&mut self.letter, &mut self.password_a, &mut self.password_b, &mut self.seed] {
            form.wipe();
        }
    }

    /// The number typed.
    pub fn number(&self) -> Result<PartyId, String> {
        let text = self.letter.text(0);
        let number: PartyId =
            text.parse().map_err(|_| format!("\"{text}\" is not a number like M00000001 or S00000001."))?;
        let expected = match self.mode {
            Mode::Member => PartyKind::Member,
            Mode::Store => PartyKind::Store,
        };
        if number.kind() != expected {
            return Err(format!(
                "{number} is not a {} number; this is the {} terminal.",
                self.mode.word(),
                self.mode.word()
            ));
        }
        Ok(number)
    }

    fn code(&self) -> Option<ActivationCode> {
        self.letter.secret(1)?.check(|text| ActivationCode::new(text.trim()))
    }

    /// Personal data and a store's details, or the field that is wrong and why.
    pub fn details(&self) -> Result<(PersonalData, Option<StoreRegistration>), (usize, String)> {
        let form = &self.details;
        let text = |index: usize, what: &str| -> Result<String, (usize, String)> {
            let value = form.text(index);
            if value.is_empty() || value.chars().any(char::is_control) {
                return Err((index, format!("Type your {what}.")));
            }
            Ok(value.to_owned())
        };
        let too_long = |index: usize, what: &str| (index, format!("The {what} is too long; shorten it."));
        let personal = PersonalData {
            name: Text::new(text(0, "name")?).map_err(|_| too_long(0, "name"))?,
            address: Text::new(text(1, "address")?).map_err(|_| too_long(1, "address"))?,
            date_of_birth: Date::parse(form.text(2))
                .ok_or((2, "Write the date of birth as YYYY-MM-DD, e.g. 1990-04-01.".to_owned()))?,
        };
        if self.mode == Mode::Member {
            return Ok((personal, None));
        }
        let digits = |index: usize, what: &str, count: usize| (index, format!("The {what} is exactly {count} digits."));
        let store = StoreRegistration {
            trade_name: Text::new(text(3, "trade name")?).map_err(|_| too_long(3, "trade name"))?,
            payout_account: BankAccount {
                bank_code: Digits::new(form.text(4)).ok_or_else(|| digits(4, "bank code", 4))?,
                branch_code: Digits::new(form.text(5)).ok_or_else(|| digits(5, "branch code", 3))?,
                account_type: [AccountType::Ordinary, AccountType::Current, AccountType::Savings][form.choice(6)],
                account_number: Digits::new(form.text(7)).ok_or_else(|| digits(7, "account number", 7))?,
                holder_name: Text::new(text(8, "account holder")?).map_err(|_| too_long(8, "account holder"))?,
            },
        };
        Ok((personal, Some(store)))
    }

    /// Checks the step shown; on success moves on.
    fn check_step(&mut self) -> Result<(), (usize, String)> {
        match self.current() {
            Step::Letter => {
                self.number().map_err(|error| (0, error))?;
                if self.code().is_none() {
                    return Err((
                        1,
                        "Type the activation code exactly as printed in your letter: 1 to 16 letters, digits or \
                         signs, no spaces."
                            .to_owned(),
                    ));
                }
            }
            Step::Details => {
                self.details()?;
            }
            Step::PasswordA => check_new_password(&self.password_a, "A")?,
            Step::PasswordB if self.resume => {
                if self.password_b.secret(0).is_none_or(SecretField::is_empty) {
                    return Err((0, "Type password B.".to_owned()));
                }
            }
            Step::PasswordB => {
                check_new_password(&self.password_b, "B")?;
                let (Some(a), Some(b)) = (self.password_a.secret(0), self.password_b.secret(0)) else {
                    return Ok(());
                };
                if a.same_as(b) {
                    return Err((
                        0,
                        "Password B must differ from password A: A alone opens your history, and signing must \
                         need more than that."
                            .to_owned(),
                    ));
                }
            }
            Step::Seed | Step::Confirm => {}
        }
        Ok(())
    }
}

fn check_new_password(form: &Form, which: &str) -> Result<(), (usize, String)> {
    let (Some(first), Some(second)) = (form.secret(0), form.secret(1)) else { return Ok(()) };
    if first.len() < PASSWORD_CHARS_MIN {
        return Err((0, format!("Password {which} needs at least {PASSWORD_CHARS_MIN} characters.")));
    }
    if !first.same_as(second) {
        return Err((1, format!("The two entries of password {which} differ; type the second one again.")));
    }
    Ok(())
}

/// The application form.
pub fn apply_form(mode: Mode, agreement_version: u32) -> ApplyScreen {
    let mut fields = vec![
        Field::text("Name", "full name", NAME_BYTES_MAX, ""),
        Field::text("Address", "your letter is posted here", ADDRESS_BYTES_MAX, ""),
        Field::text("Date of birth", "YYYY-MM-DD", 10, ""),
    ];
    if mode == Mode::Store {
        fields.push(Field::text("Trade name", "shown to members", TRADE_NAME_BYTES_MAX, ""));
    }
    ApplyScreen { form: Form::new(fields), agreement_version }
}

fn agreement_topic(mode: Mode) -> GuideTopic {
    match mode {
        Mode::Member => GuideTopic::MemberAgreement,
        Mode::Store => GuideTopic::StoreAgreement,
    }
}

/// Keys on the first-run and unlock screens.
pub(super) fn key(app: &mut App, key: KeyEvent) -> Vec<Effect> {
    match &mut app.screen {
        Screen::Welcome => match key.code {
            KeyCode::Enter | KeyCode::Char('n') => {
                if app.center.is_none() {
                    app.error(
                        "There is no center card: start again with --center FILE (the center.pub you were given).",
                    );
                    return Vec::new();
                }
                app.go(Screen::Reading { topic: GuideTopic::Guide, text: None, scroll: 0 });
                app.busy = Some(Busy { label: "Connecting to the center for its guide".to_owned(), progress: None });
                vec![Effect::FetchGuide(GuideTopic::Guide)]
            }
            KeyCode::Char('r') => {
                app.go(Screen::Register(Box::new(Wizard::new(app.mode, app.application.as_ref()))));
                Vec::new()
            }
            _ => Vec::new(),
        },
        Screen::Reading { topic, text, scroll } => {
            let topic = *topic;
            let loaded = text.is_some();
            match key.code {
                KeyCode::Up | KeyCode::Char('k') => *scroll = scroll.saturating_sub(1),
                KeyCode::Down | KeyCode::Char('j') => *scroll = scroll.saturating_add(1),
                KeyCode::PageUp => *scroll = scroll.saturating_sub(10),
                KeyCode::PageDown | KeyCode::Char(' ') => *scroll = scroll.saturating_add(10),
                KeyCode::Home => *scroll = 0,
                KeyCode::Esc => app.back(),
                KeyCode::Enter if loaded && topic == GuideTopic::Guide => {
                    let agreement = agreement_topic(app.mode);
                    app.go(Screen::Reading { topic: agreement, text: None, scroll: 0 });
                    app.busy = Some(Busy { label: "Fetching the agreement".to_owned(), progress: None });
                    return vec![Effect::FetchGuide(agreement)];
                }
                KeyCode::Char('a') if loaded && topic != GuideTopic::Guide => {
                    let version = match &app.screen {
                        Screen::Reading { text: Some(text), .. } => text.version,
                        _ => 0,
                    };
                    app.go(Screen::Apply(Box::new(apply_form(app.mode, version))));
                }
                KeyCode::Char('l') if topic != GuideTopic::Guide => {
                    app.stack.clear();
                    app.replace(Screen::Welcome);
                    app.info("You did not accept the agreement, so nothing was sent.");
                }
                _ => {}
            }
            Vec::new()
        }
        Screen::Apply(apply) => match apply.form.handle(key) {
            FormOutcome::Editing => Vec::new(),
            FormOutcome::Cancel => {
                app.back();
                Vec::new()
            }
            FormOutcome::Submit => submit_application(app),
        },
        Screen::Applied(applied) => {
            if key.code == KeyCode::Enter {
                let wizard = Wizard::new(app.mode, Some(applied));
                app.stack.clear();
                app.stack.push(Screen::Welcome);
                app.replace(Screen::Register(Box::new(wizard)));
            }
            Vec::new()
        }
        Screen::Register(_) => wizard_key(app, key),
        Screen::Working(_) => Vec::new(),
        Screen::Certificate(_) => {
            if key.code == KeyCode::Enter {
                app.home();
            }
            Vec::new()
        }
        Screen::Unlock { password } => match key.code {
            KeyCode::Enter if password.is_empty() => {
                app.error("Type password A, then press Enter.");
                Vec::new()
            }
            KeyCode::Enter => {
                let password_a = password.take();
                app.busy = Some(Busy { label: "Opening the key file (about a second)".to_owned(), progress: None });
                vec![Effect::Unlock(password_a)]
            }
            _ => {
                password.handle(key);
                Vec::new()
            }
        },
        _ => Vec::new(),
    }
}

fn submit_application(app: &mut App) -> Vec<Effect> {
    let mode = app.mode;
    let Screen::Apply(apply) = &mut app.screen else { return Vec::new() };
    let form = &mut apply.form;
    let checked = (|| {
        let name = form.text(0);
        let address = form.text(1);
        if name.is_empty() {
            return Err((0, "Type your name.".to_owned()));
        }
        if address.is_empty() {
            return Err((1, "Type your postal address: your activation code is posted there.".to_owned()));
        }
        let personal = PersonalData {
            name: Text::new(name).map_err(|_| (0, "The name is too long.".to_owned()))?,
            address: Text::new(address).map_err(|_| (1, "The address is too long.".to_owned()))?,
            date_of_birth: Date::parse(form.text(2))
                .ok_or((2, "Write the date of birth as YYYY-MM-DD, e.g. 1990-04-01.".to_owned()))?,
        };
        let applicant = match mode {
            Mode::Member => Applicant::Member,
            Mode::Store => {
                let trade_name = form.text(3);
                if trade_name.is_empty() {
                    return Err((3, "Type the store's trade name.".to_owned()));
                }
                Applicant::Store(Text::new(trade_name).map_err(|_| (3, "The trade name is too long.".to_owned()))?)
            }
        };
        Ok((applicant, personal))
    })();
    match checked {
        Err((index, error)) => {
            form.fail(index, error);
            Vec::new()
        }
        Ok((applicant, personal)) => {
            let agreement_version = apply.agreement_version;
            app.application = Some(Applied {
                number: PartyId::ANONYMOUS,
                message: String::new(),
                expires: String::new(),
                name: personal.name.to_string(),
                address: personal.address.to_string(),
                date_of_birth: personal.date_of_birth.to_string(),
                trade_name: match &applicant {
                    Applicant::Store(trade_name) => trade_name.to_string(),
                    Applicant::Member => String::new(),
                },
            });
            app.busy = Some(Busy { label: "Sending your application".to_owned(), progress: None });
            vec![Effect::Apply { applicant, personal, agreement_version }]
        }
    }
}

fn wizard_key(app: &mut App, key: KeyEvent) -> Vec<Effect> {
    let Screen::Register(wizard) = &mut app.screen else { return Vec::new() };
    wizard.error = None;
    let outcome = match wizard.form_mut() {
        Some(form) => form.handle(key),
        None => match key.code {
            KeyCode::Enter => FormOutcome::Submit,
            KeyCode::Esc => FormOutcome::Cancel,
            _ => FormOutcome::Editing,
        },
    };
    match outcome {
        FormOutcome::Editing => Vec::new(),
        FormOutcome::Cancel if wizard.step == 0 => {
            wizard.wipe();
            app.back();
            Vec::new()
        }
        FormOutcome::Cancel => {
            wizard.step -= 1;
            Vec::new()
        }
        FormOutcome::Submit if wizard.current() == Step::Confirm => register(app),
        FormOutcome::Submit => {
            match wizard.check_step() {
                Ok(()) => wizard.step += 1,
                Err((index, error)) => {
                    let password_step = matches!(wizard.current(), Step::PasswordA | Step::PasswordB);
                    if let Some(form) = wizard.form_mut() {
                        if password_step {
                            // Typed blind: start the pair again rather than edit bullets.
                            form.wipe();
                            form.fail(0, error);
                        } else {
                            form.fail(index, error);
                        }
                    }
                }
            }
            Vec::new()
        }
    }
}

fn register(app: &mut App) -> Vec<Effect> {
    let Screen::Register(wizard) = &mut app.screen else { return Vec::new() };
    let checked = (|| {
        let number = wizard.number().map_err(|error| (0, error))?;
        let code = wizard.code().ok_or((0, "The activation code is missing.".to_owned()))?;
        let (personal, store) = wizard.details().map_err(|(_, error)| (1, error))?;
        Ok::<_, (usize, String)>((number, code, personal, store))
    })();
    let (number, code, personal, store) = match checked {
        Ok(values) => values,
        Err((step, error)) => {
            wizard.step = step;
            wizard.error = Some(error);
            return Vec::new();
        }
    };
    let effect = if wizard.resume {
        let password_b = wizard.password_b.secret_mut(0).filter(|field| !field.is_empty()).map(SecretField::take);
        Effect::ResendRegistration(Box::new(ResendRequest { code, personal, store, password_b }))
    } else {
        let (Some(password_a), Some(password_b)) = (
            wizard.password_a.secret_mut(0).map(SecretField::take),
            wizard.password_b.secret_mut(0).map(SecretField::take),
        ) else {
            return Vec::new();
        };
        let seed = wizard
            .seed
            .secret_mut(0)
            .filter(|field| !field.is_empty())
            .map(|field| SeedPhrase::new(field.take_text().to_string()));
        Effect::Register(Box::new(RegisterRequest { number, code, personal, store, password_a, password_b, seed }))
    };
    let Screen::Register(mut wizard) = std::mem::replace(&mut app.screen, Screen::Welcome) else {
        return Vec::new();
    };
    wizard.wipe();
    app.screen = Screen::Working(wizard);
    app.busy = Some(Busy { label: "Starting".to_owned(), progress: None });
    vec![effect]
}

/// Reports for the first-run and unlock screens.
pub(super) fn on_update(app: &mut App, update: Update) -> Vec<Effect> {
    match update {
        Update::Guide(guide) => {
            app.busy = None;
            if let Screen::Reading { topic, text, .. } = &mut app.screen
                && *topic == guide.topic
            {
                *text = Some(*guide);
            }
        }
        Update::Applied(accepted) => {
            app.busy = None;
            let mut applied = app.application.take().unwrap_or(Applied {
                number: accepted.assigned,
                message: String::new(),
                expires: String::new(),
                name: String::new(),
                address: String::new(),
                date_of_birth: String::new(),
                trade_name: String::new(),
            });
            applied.number = accepted.assigned;
            applied.message = accepted.message.to_string();
            applied.expires = date_of_unix_ms_text(accepted.activation_code_expires_at_ms);
            app.application = Some(applied.clone());
            app.stack.clear();
            app.replace(Screen::Applied(Box::new(applied)));
        }
        Update::Unlocked => {
            app.busy = None;
            let Some(account) = &app.account else { return Vec::new() };
            if account.certificate.is_some() {
                app.home();
            } else {
                let wizard = Wizard::resume(app.mode, account.party, !app.signing, app.application.as_ref());
                app.stack.clear();
                app.stack.push(Screen::Home { selected: 0 });
                app.replace(Screen::Register(Box::new(wizard)));
                app.info(
                    "Your registration is not finished: type the code from your letter and your details to send it \
                     again. Your keys are kept.",
                );
            }
        }
        Update::UnlockFailed(text) => {
            app.busy = None;
            app.error(text);
        }
        Update::Registered(certificate) => {
            app.busy = None;
            app.signing = true;
            app.stack.clear();
            app.replace(Screen::Certificate(certificate));
        }
        Update::RegistrationFailed(text) => {
            app.busy = None;
            let screen = std::mem::replace(&mut app.screen, Screen::Welcome);
            let party = app.account.as_ref().map(|account| account.party);
            let mut wizard = match (screen, party) {
                (Screen::Working(wizard), _) if wizard.resume => wizard,
                (Screen::Working(wizard), Some(party)) => {
                    // The key file exists now: only the registration is sent again.
                    // The account task kept the signature key it just made: no password B needed.
                    let mut resumed = Wizard::resume(app.mode, party, false, None);
                    resumed.details = wizard.details;
                    Box::new(resumed)
                }
                (Screen::Working(wizard), None) => wizard,
                (other, _) => {
                    app.screen = other;
                    app.error(text);
                    return Vec::new();
                }
            };
            wizard.step = 0;
            wizard.error = Some(text);
            app.screen = Screen::Register(wizard);
        }
        _ => {}
    }
    Vec::new()
}
