//! The full-screen terminal (`denbun member`, `denbun store`).
//!
//! ```text
//!  input thread ──keys, ticks──┐
//!                              ▼
//!  account task ──updates──▶ events (bounded) ──▶ update(&mut App, Event) ──▶ effects ──▶ account task
//!  (backend.rs: key file,                             │
//!   session, transfers)                               ▼
//!                                              render(&App, &mut Frame)
//! ```
//!
//! The drawing loop only draws and calls [`app::update`], which is pure. The
//! account task owns the key file and the session and does everything slow;
//! scrypt runs on the blocking pool. A thread of its own reads the keyboard.

pub mod app;
pub mod backend;
pub mod field;
pub mod model;
pub mod view;

use std::path::PathBuf;
use std::time::Duration;

use denbun_protocol::header::PartyId;
use denbun_protocol::identity::CenterIdentity;
use tokio::runtime::Runtime;
use tokio::sync::mpsc;

use crate::cli::{CARD_FILE_NAME, KEY_FILE_NAME};
use crate::session::{SessionConfig, date_of_unix_ms, unix_time_ms};
use crate::vault::{IdentityCardFile, VaultConfig};
use app::{App, Applied, CenterView, Event, Mode, update};
use backend::{APPLICATION_FILE_NAME, Backend, BackendOptions};

/// Events waiting for the drawing loop.
pub const EVENT_QUEUE_MAX: usize = 256;
/// Effects waiting for the account task.
pub const EFFECT_QUEUE_MAX: usize = 64;
/// Events applied before the next drawing.
pub const EVENT_BATCH_MAX: usize = 64;
/// How often the clock ticks (spinners) and the keyboard thread checks for the end.
pub const TICK: Duration = Duration::from_millis(250);
/// How long quitting waits for the account task to sign off.
pub const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(5);

/// How to open the terminal.
#[derive(Clone, Debug)]
pub struct TerminalOptions {
    /// Member or store.
    pub mode: Mode,
    /// The profile directory.
    pub profile: PathBuf,
    /// The center's card (first run; later the key file names the center).
    pub card: Option<PathBuf>,
    /// An address that overrides the card's.
    pub address: Option<String>,
    /// What the demo tells on the unlock screen (its passwords).
    pub demo_note: Option<String>,
}

/// The center as its card shows it.
pub fn center_view(identity: &CenterIdentity) -> CenterView {
    CenterView {
        name: identity.name.to_string(),
        address: identity.address.to_string(),
        fingerprint: identity.short_fingerprint(),
    }
}

/// The app as it starts for `options` (reads the card and the last
/// application's number, no secret).
pub fn initial_app(options: &TerminalOptions) -> App {
    let card = options.card.clone().unwrap_or_else(|| options.profile.join(CARD_FILE_NAME));
    let center = CenterIdentity::read(&card).ok().map(|identity| center_view(&identity));
    let key_file_exists = options.profile.join(KEY_FILE_NAME).exists();
    let mut app = App::new(options.mode, options.profile.clone(), center, key_file_exists);
    app.color = std::env::var_os("NO_COLOR").is_none_or(|value| value.is_empty());
    app.demo_note = options.demo_note.clone();
    app.today = date_of_unix_ms(unix_time_ms());
    let application = std::fs::read_to_string(options.profile.join(APPLICATION_FILE_NAME)).ok();
    if let Some(number) = application.and_then(|text| text.trim().parse::<PartyId>().ok()) {
        app.application = Some(Applied {
            number,
            message: String::new(),
            expires: String::new(),
            name: String::new(),
            address: String::new(),
            date_of_birth: String::new(),
            trade_name: String::new(),
        });
    }
    app
}

/// What the keyboard thread reports between two ticks.
pub enum Input {
    /// A key was pressed.
    Key(crossterm::event::KeyEvent),
    /// The window changed size.
    Resize,
    /// Nothing happened for one tick.
    Tick,
}

/// Reads the keyboard on a thread of its own (crossterm's reads block) and
/// hands each key, resize and quiet `tick` to `to_event`, whose events go to
/// `events`. Ends when the receiver is gone or the terminal can't be read.
/// The console uses it too.
pub fn spawn_input<E: Send + 'static>(
    events: mpsc::Sender<E>,
    tick: Duration,
    to_event: impl Fn(Input) -> E + Send + 'static,
) -> std::thread::JoinHandle<()> {
    use crossterm::event::{self, Event as TermEvent};
    std::thread::spawn(move || {
        loop {
            let input = match event::poll(tick) {
                Ok(true) => match event::read() {
                    Ok(TermEvent::Key(key)) => Input::Key(key),
                    Ok(TermEvent::Resize(..)) => Input::Resize,
                    Ok(_) => continue,
                    Err(_) => return,
                },
                Ok(false) => Input::Tick,
                Err(_) => return,
            };
            if events.blocking_send(to_event(input)).is_err() {
                return;
            }
        }
    })
}

/// Runs the terminal until the person quits.
pub fn run(options: TerminalOptions, runtime: &Runtime) -> Result<(), String> {
    let mut app = initial_app(&options);
    let (event_sender, mut events) = mpsc::channel(EVENT_QUEUE_MAX);
    let (effect_sender, effects) = mpsc::channel(EFFECT_QUEUE_MAX);
    let backend = Backend::new(
        BackendOptions {
            mode: options.mode,
            profile: options.profile.clone(),
            card: options.card.clone(),
            address: options.address.clone(),
            vault_config: VaultConfig::STANDARD,
            session_config: SessionConfig::default(),
        },
        event_sender.clone(),
    );
    let backend_task = runtime.spawn(backend.run(effects));
    let mut terminal = ratatui::try_init().map_err(|error| {
        format!("Cannot open the full-screen terminal ({error}). Run denbun in a terminal window, or use its verbs.")
    })?;
    let input = spawn_input(event_sender, TICK, |input| match input {
        Input::Key(key) => Event::Key(key),
        Input::Resize => Event::Resize,
        Input::Tick => Event::Tick,
    });
    let result = loop {
        if let Err(error) = terminal.draw(|frame| view::render(&app, frame)) {
            break Err(format!("Cannot draw: {error}"));
        }
        let Some(event) = runtime.block_on(events.recv()) else { break Ok(()) };
        let mut effects = update(&mut app, event);
        for _ in 0..EVENT_BATCH_MAX {
            match events.try_recv() {
                Ok(event) => effects.extend(update(&mut app, event)),
                Err(_) => break,
            }
        }
        for effect in effects {
            if effect_sender.try_send(effect).is_err() {
                app.error("The terminal is still busy with earlier work; try again in a moment.");
            }
        }
        if app.quit {
            break Ok(());
        }
    };
    ratatui::restore();
    drop(effect_sender);
    drop(events);
    let _ = runtime.block_on(async { tokio::time::timeout(SHUTDOWN_TIMEOUT, backend_task).await });
    // The keyboard thread notices the closed channel within one tick.
    let _ = input.join();
    result
}
