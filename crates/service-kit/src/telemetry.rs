//! Logging with `tracing`: level filter from `RUST_LOG`, text or JSON lines, written by a
//! thread of their own ([`crate::log_writer`]) so that logging never blocks or fails.
//! Colours only when stdout is a terminal.

use std::io::IsTerminal as _;

use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;
use crate::log_writer::LogWriter;

/// Installs the global subscriber. Safe to call more than once (later calls do nothing),
/// so tests that start several services in one process can all call it.
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(LogWriter::default());
    // An error only means a subscriber is already installed.
    let _ = match format {
        LogFormat::Text => builder
            .with_ansi(std::io::stdout().is_terminal())
            .try_init(),
        LogFormat::Json => builder.json().with_current_span(true).try_init(),
    };
}
