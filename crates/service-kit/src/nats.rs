//! Connecting to NATS, retrying with backoff until it answers or we are told to stop.

use std::time::Duration;

use async_nats::{Client, ConnectOptions, Event};
use tokio_util::sync::CancellationToken;

const FIRST_DELAY: Duration = Duration::from_millis(100);
const MAX_DELAY: Duration = Duration::from_secs(5);

/// Connects to `url` as `name`, retrying with exponential backoff (capped at 5 s). Returns
/// `None` if `shutdown` fires first. Once connected, the client reconnects by itself
/// forever; connection events are logged.
pub async fn connect(url: &str, name: &str, shutdown: &CancellationToken) -> Option<Client> {
    let mut delay = FIRST_DELAY;
    let mut attempt = 1u32;
    loop {
        let service = name.to_owned();
        let options = ConnectOptions::new()
            .name(name)
            .connection_timeout(Duration::from_secs(5))
            .max_reconnects(None)
            .event_callback(move |event| {
                let service = service.clone();
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
            result = options.connect(url) => result,
        };
        match attempt_result {
            Ok(client) => {
                tracing::info!(%url, attempt, "connected to NATS");
                return Some(client);
            }
            Err(error) => {
                tracing::warn!(%url, attempt, %error, retry_in = ?delay, "cannot connect to NATS");
            }
        }
        tokio::select! {
            () = shutdown.cancelled() => return None,
            () = tokio::time::sleep(delay) => {}
        }
        delay = (delay * 2).min(MAX_DELAY);
        attempt += 1;
    }
}
