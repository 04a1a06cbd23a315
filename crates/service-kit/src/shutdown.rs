//! Turning SIGTERM / SIGINT into a cancellation token, in a way that always stops.
//!
//! The signals are taken by a thread of their own, not by a task of the runtime: a runtime
//! whose workers are all stuck (a lock-up, a blocking call) still hears them. The first
//! signal cancels the token (the graceful stop, [`crate::app`]) and starts a deadline: if
//! the process has not ended `drain` later (plus a second for the last log lines), it exits
//! with status 1. A second signal exits at once, with status 130.

use std::time::Duration;

use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;
use tokio_util::sync::CancellationToken;

use crate::log_writer::LogWriter;

/// Exit status of a process stopped by a second signal (128 + SIGINT, as shells report).
pub const EXIT_SECOND_SIGNAL: i32 = 130;
/// Exit status of a process whose graceful stop overran its drain time.
pub const EXIT_DRAIN_OVERRUN: i32 = 1;
/// Time left after the drain for the last log lines to be written.
const LAST_WORDS: Duration = Duration::from_secs(1);

/// A token cancelled on the first SIGTERM or SIGINT (Ctrl-C); the process ends by itself at
/// most `drain` + 1 s later, and at once on a second signal.
pub fn on_signal(drain: Duration) -> CancellationToken {
    let token = CancellationToken::new();
    let mut signals = match Signals::new([SIGTERM, SIGINT]) {
        Ok(signals) => signals,
        Err(error) => {
            tracing::error!(%error, "cannot install signal handlers; stop the service with SIGKILL");
            return token;
        }
    };
    let trigger = token.clone();
    let spawned = std::thread::Builder::new()
        .name("signals".to_owned())
        .spawn(move || {
            let mut received = signals.forever();
            let Some(first) = received.next() else { return };
            // Cancel first: logging must never stand between a signal and the stop.
            trigger.cancel();
            tracing::info!(signal = first, drain = ?drain, "shutdown signal received; stopping");
            let _ = std::thread::Builder::new()
                .name("drain-deadline".to_owned())
                .spawn(move || {
                    std::thread::sleep(drain);
                    tracing::error!(drain = ?drain, "the graceful stop overran its drain time; exiting");
                    exit(EXIT_DRAIN_OVERRUN);
                });
            if let Some(second) = received.next() {
                tracing::warn!(signal = second, "second shutdown signal; exiting at once");
                exit(EXIT_SECOND_SIGNAL);
            }
        });
    if let Err(error) = spawned {
        tracing::error!(%error, "cannot start the signal thread; stop the service with SIGKILL");
    }
    token
}

/// Ends the process now, after giving the log lines queued so far a moment to be written.
pub fn exit(status: i32) -> ! {
    LogWriter::default().flush(LAST_WORDS);
    std::process::exit(status)
}
