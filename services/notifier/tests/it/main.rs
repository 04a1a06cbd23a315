//! The notifier as the real binary; its emails are tested with the whole system in
//! crates/system-tests (`emails.rs`).

use testkit::process;

const BINARY: &str = env!("CARGO_BIN_EXE_notifier");

#[tokio::test]
async fn the_binary_reads_its_environment_stops_on_sigterm_in_every_state_and_waits_for_nats() {
    // No SMTP server listens there: the notifier is ready without one (mail waits).
    let smtp = format!("smtp://127.0.0.1:{}", process::free_port());
    process::check_binary(BINARY, &[("LOG_FORMAT", "json".into()), ("SMTP_URL", smtp)]).await;
}
