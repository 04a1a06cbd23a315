//! Reading one stream for a projection: an ordered consumer from the event after the
//! checkpoint, made anew when the NATS connection was lost (ADR 0034).

use std::time::Duration;

use anyhow::Context as _;
use async_nats::jetstream::{self, consumer::DeliverPolicy, consumer::pull::OrderedConfig};
use tokio_util::sync::CancellationToken;

use super::Projection;

/// How often a reader lost with the connection is asked for again.
const REOPEN_PAUSE: Duration = Duration::from_millis(100);
/// How long asking again may fail (NATS back but JetStream not yet) before the projection
/// gives up and starts over from its checkpoint.
const REOPEN_FOR: Duration = Duration::from_secs(30);

/// The stream being read and its ordered consumer's messages.
pub(super) struct Reader {
    pub(super) stream: jetstream::stream::Stream,
    pub(super) messages: jetstream::consumer::pull::Ordered,
}

impl Projection {
    /// An ordered consumer of the stream from the event after `applied`.
    pub(super) async fn open_reader(&self, applied: u64) -> anyhow::Result<Reader> {
        let stream_name = self.source.stream();
        let mut stream = self
            .js
            .get_stream(stream_name)
            .await
            .with_context(|| format!("cannot open stream {stream_name}"))?;
        let deliver_policy = if applied == 0 {
            DeliverPolicy::All
        } else {
            DeliverPolicy::ByStartSequence {
                start_sequence: applied + 1,
            }
        };
        let consumer = stream
            .create_consumer(OrderedConfig {
                deliver_policy,
                ..Default::default()
            })
            .await
            .with_context(|| format!("cannot create an ordered consumer on {stream_name}"))?;
        let messages = consumer
            .messages()
            .await
            .with_context(|| format!("cannot read stream {stream_name}"))?;
        // Refreshed now rather than at the first tick.
        let _ = stream.info().await;
        Ok(Reader { stream, messages })
    }

    /// After the connection was lost: a new reader from `applied` once NATS answers again
    /// (asked every [`REOPEN_PAUSE`] for up to [`REOPEN_FOR`]); `None` if told to stop.
    pub(super) async fn reopen_reader(
        &self,
        applied: u64,
        stop: &CancellationToken,
    ) -> anyhow::Result<Option<Reader>> {
        let give_up = tokio::time::Instant::now() + REOPEN_FOR;
        loop {
            let connected =
                self.js.client().connection_state() == async_nats::connection::State::Connected;
            if connected {
                let opened = self
                    .disconnects
                    .cut_short(self.open_reader(applied))
                    .await
                    .map_err(anyhow::Error::from)
                    .and_then(|opened| opened);
                match opened {
                    Ok(reader) => {
                        tracing::info!(
                            stream = self.source.stream(),
                            applied,
                            "the NATS connection was lost; reading again after the checkpoint"
                        );
                        return Ok(Some(reader));
                    }
                    Err(error) if tokio::time::Instant::now() > give_up => return Err(error),
                    Err(error) => tracing::debug!(
                        stream = self.source.stream(),
                        error = format!("{error:#}"),
                        "cannot read again yet"
                    ),
                }
            }
            tokio::select! {
                () = stop.cancelled() => return Ok(None),
                () = tokio::time::sleep(REOPEN_PAUSE) => {}
            }
        }
    }
}
