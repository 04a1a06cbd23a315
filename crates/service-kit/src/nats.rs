//! Connecting to NATS, retrying with backoff until it answers or we are told to stop.

use std::time::Duration;

use std::sync::Arc;

use async_nats::{Client, ConnectOptions, Event};
use eventstore::{Backoff, Disconnects};
use tokio_util::sync::CancellationToken;

use crate::CommonConfig;

const FIRST_DELAY: Duration = Duration::from_millis(100);
const MAX_DELAY: Duration = Duration::from_secs(5);

/// The connection options of service `name`: its NATS user, if one is configured, and its
/// own inbox prefix `_INBOX_<name>`, so that the server can give each service the right to
/// receive on its own replies only (deploy/nats/users.conf).
pub fn options(config: &CommonConfig, name: &str) -> ConnectOptions {
    let options = ConnectOptions::new()
        .name(name)
        .custom_inbox_prefix(format!("_INBOX_{name}"));
    match (&config.nats_user, &config.nats_password) {
        (Some(user), Some(password)) => {
            options.user_and_password(user.clone(), password.expose().to_owned())
        }
        _ => options,
    }
}

/// Connects to `config.nats_url` as `name`, retrying with exponential backoff (capped at
/// 5 s). Returns `None` if `shutdown` fires first. Once connected, the client reconnects by
/// itself forever; connection events are logged, and each loss of the connection is
/// reported to the returned [`Disconnects`] (waits under way end at once).
pub async fn connect(
    config: &CommonConfig,
    name: &str,
    shutdown: &CancellationToken,
) -> Option<(Client, Disconnects)> {
    let url = &config.nats_url;
    let mut pauses = Backoff::new(FIRST_DELAY, MAX_DELAY).pauses();
    let mut attempt = 1u32;
    let (signal, disconnects) = Disconnects::new();
    let signal = Arc::new(signal);
    loop {
        let service = name.to_owned();
        let signal = signal.clone();
        let options = options(config, name)
            .connection_timeout(Duration::from_secs(5))
            .max_reconnects(None)
            .event_callback(move |event| {
                let service = service.clone();
                if matches!(event, Event::Disconnected) {
                    signal.lost();
                }
                async move {
                    match event {
                        Event::Connected => {
                            tracing::info!(%service, "NATS connection re-established")
                        }
                        Event::Disconnected => {
                            tracing::warn!(%service, "NATS connection lost; reconnecting")
                        }
                        other => tracing::info!(%service, event = %other, "NATS event"),
                    }
                }
            });
        let attempt_result = tokio::select! {
            () = shutdown.cancelled() => return None,
            result = options.connect(url.servers()) => result,
        };
        match attempt_result {
            Ok(client) => {
                tracing::info!(%url, attempt, "connected to NATS");
                return Some((client, disconnects));
            }
            Err(error) => {
                tracing::warn!(%url, attempt, %error, retry_in = ?pauses.next_delay(),
                    "cannot connect to NATS");
            }
        }
        if !pauses.pause(shutdown).await {
            return None;
        }
        attempt += 1;
    }
}
