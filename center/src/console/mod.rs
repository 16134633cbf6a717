//! The operator console: `denbun-center console`, a full-screen dashboard
//! over the running center, signed on as an operator.
//!
//! ```text
//!  keyboard thread ──keys──┐
//!  clock (ticks) ──────────┤
//!                          ▼
//!  operator task ──events──▶ events (bounded) ──▶ update(&mut App, Event) ──▶ effects ──▶ operator task
//!  (backend.rs: key file,                              │
//!   session, outbox)                                   ▼
//!                                               render(&App, &mut Frame)
//! ```
//!
//! The drawing loop only draws and calls [`app::update`], which is pure;
//! the operator task does everything that waits on the center. The console
//! reads the center through operator queries and changes it only through
//! signed operator telegrams, journaled like any other, so several operators
//! can work at once from different machines.

pub mod app;
pub mod backend;
#[cfg(test)]
pub(crate) mod fixtures;
pub mod view;

use std::path::PathBuf;
use std::time::Duration;

use tokio::runtime::Runtime;
use tokio::sync::mpsc;

use crate::operator::Operator;
use app::{App, Event, update};
use backend::Backend;
use denbun_client::terminal::Input;

/// Events waiting for the drawing loop.
pub const EVENT_QUEUE_MAX: usize = 256;
/// Effects waiting for the operator task.
pub const EFFECT_QUEUE_MAX: usize = 64;
/// Events applied before the next drawing.
pub const EVENT_BATCH_MAX: usize = 64;
/// How often the clock ticks (and the keyboard thread checks for the end).
pub const TICK: Duration = Duration::from_millis(250);
/// How long quitting waits for the operator task to finish what it sends.
pub const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(5);

/// The app for a signed-on operator.
pub fn initial_app(operator: &Operator) -> App {
    let center = operator.center();
    let mut app = App::new(operator.party(), center.name.as_str(), center.address.as_str());
    app.color = std::env::var_os("NO_COLOR").is_none_or(|value| value.is_empty());
    app.now_ms = crate::service::now_ms();
    app.signed_on(&center.short_fingerprint());
    app
}

/// Runs the console until the operator quits. Files exported from the
/// Payouts tab land in `export_directory` unless a path says otherwise.
pub fn run(operator: Operator, export_directory: PathBuf, runtime: &Runtime) -> Result<(), String> {
    let mut app = initial_app(&operator);
    let (event_sender, mut events) = mpsc::channel(EVENT_QUEUE_MAX);
    let (effect_sender, effects) = mpsc::channel(EFFECT_QUEUE_MAX);
    let backend = Backend::new(operator, event_sender.clone(), export_directory);
    let backend_task = runtime.spawn(backend.run(effects));
    let mut terminal = ratatui::try_init()
        .map_err(|error| format!("Cannot open the full-screen console ({error}). Run it in a terminal window."))?;
    let input = denbun_client::terminal::spawn_input(event_sender.clone(), TICK, |input| match input {
        Input::Key(key) => Event::Key(key),
        Input::Resize => Event::Resize,
        Input::Tick => Event::Tick(crate::service::now_ms()),
    });
    // The first reads go out at once rather than after the first tick.
    let _ = event_sender.try_send(Event::Tick(crate::service::now_ms()));
    drop(event_sender);
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
            if let Err(error) = effect_sender.try_send(effect) {
                let effect = match error {
                    mpsc::error::TrySendError::Full(effect) | mpsc::error::TrySendError::Closed(effect) => effect,
                };
                app.not_sent(&effect);
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
