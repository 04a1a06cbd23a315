//! Applies one event stream to one generation of the read models, in stream order, from
//! the generation's checkpoint on.
//!
//! Events are read with an ordered consumer starting after the checkpoint: strict stream
//! order with no acks to lose, and the position is the checkpoint kept in the generation's
//! own bucket (ADR 0009). Each batch of events is applied in memory, the changed documents
//! are written, then the checkpoint; a crash in between replays the batch, which changes
//! nothing (every document remembers the sequence it has applied).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::Context as _;
use async_nats::jetstream::{self, kv};
use events::read_model::{Checkpoint, Key};
use eventstore::{Backoff, Delivery, Disconnects};
use futures_util::future::try_join_all;
use futures_util::{FutureExt as _, StreamExt as _};
use tokio_util::sync::CancellationToken;

use crate::metrics::Metrics;
use crate::model::Docs;

mod reader;
mod retries;
mod source;
use source::Event;
pub use source::Source;

/// Events applied together at most.
const MAX_BATCH: usize = 1000;
/// Documents kept in memory between batches before the cache starts over.
const CACHE_LIMIT: usize = 50_000;
/// Name under which undecodable events are dead-lettered.
pub const CONSUMER_NAME: &str = "projector";
/// Room left in a message for the subject and headers of a document write.
const WRITE_OVERHEAD: usize = 1024;

/// A document a batch would write is larger than the server takes: the batch can never be
/// stored as it is, however often it is retried.
#[derive(Debug, thiserror::Error)]
#[error("document {key} would be {size} bytes, more than the {limit} a write may carry")]
struct TooLarge {
    key: String,
    size: usize,
    limit: usize,
}

/// One stream being applied to one generation.
#[derive(Debug)]
pub struct Projection {
    pub js: jetstream::Context,
    pub bucket: kv::Store,
    pub source: Source,
    pub metrics: Metrics,
    /// Ends the wait for a write's answer when the connection is lost (the write is
    /// retried at once rather than after its whole timeout).
    pub disconnects: Disconnects,
    /// Every event up to this sequence is applied (shared with whoever waits for it).
    pub applied: Arc<AtomicU64>,
    /// Events applied by this projection (for rebuild figures).
    pub events: Arc<AtomicU64>,
    /// The bucket was created empty for this projection: a document not in memory does
    /// not exist, so nothing needs to be read back while the cache holds everything.
    pub fresh: bool,
}

/// The checkpoint of `stream` in a generation's bucket (0: nothing applied).
pub async fn checkpoint(bucket: &kv::Store, stream: &'static str) -> anyhow::Result<u64> {
    let stored = bucket
        .get(Key::Checkpoint(stream).name())
        .await
        .context("cannot read the checkpoint")?;
    Ok(match stored {
        Some(bytes) => {
            serde_json::from_slice::<Checkpoint>(&bytes)
                .context("undecodable checkpoint")?
                .sequence
        }
        None => 0,
    })
}

/// How long a reader may deliver nothing while its stream holds events it has not applied.
const STALLED: Duration = Duration::from_secs(10);
/// Pauses between attempts to store a batch: 0.1 s doubling up to 5 s.
const WRITE_BACKOFF: Backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(5));

impl Projection {
    /// Applies the stream until `stop`. Returns an error when the stream cannot be read;
    /// the caller starts again from the checkpoint.
    pub async fn run(self, stop: CancellationToken) -> anyhow::Result<()> {
        let stream_name = self.source.stream();
        let mut applied = checkpoint(&self.bucket, stream_name).await?;
        self.applied.store(applied, Ordering::Release);
        self.metrics.set_applied(stream_name, applied);

        let mut docs = Docs::default();
        let mut fresh = self.fresh;
        let mut losses = self.disconnects.watch();
        let mut reader = self.open_reader(applied).await?;
        let mut refresh = tokio::time::interval(Duration::from_secs(2));
        let mut progressed = tokio::time::Instant::now();
        loop {
            tokio::select! {
                biased;
                () = stop.cancelled() => return Ok(()),
                // The reader's consumer lived on the server of the lost connection (or its
                // deliveries went to that connection): read again from what is applied as
                // soon as NATS answers, rather than when its heartbeats are missed.
                () = losses.lost() => {
                    let Some(reopened) = self.reopen_reader(applied, &stop).await? else {
                        return Ok(());
                    };
                    losses.seen();
                    reader = reopened;
                    progressed = tokio::time::Instant::now();
                }
                _ = refresh.tick() => {
                    // Cut short like every wait here: a loss must not hold the loop.
                    let info = self.disconnects.cut_short(reader.stream.info()).await;
                    if let Ok(Ok(info)) = info {
                        let last = info.state.last_sequence;
                        self.metrics.set_last(stream_name, last);
                        // An ordered consumer can go quiet for good when the node holding
                        // it dies: start again from the checkpoint rather than wait.
                        if last > applied && progressed.elapsed() > STALLED {
                            anyhow::bail!(
                                "the reader of {stream_name} stalled at {applied} while the stream is at {last}"
                            );
                        }
                    }
                }
                first = reader.messages.next() => {
                    let first = first
                        .with_context(|| format!("the reader of {stream_name} ended"))?
                        .with_context(|| format!("cannot read stream {stream_name}"))?;
                    let mut batch = vec![first];
                    while batch.len() < MAX_BATCH {
                        match reader.messages.next().now_or_never() {
                            Some(Some(message)) => batch.push(
                                message.with_context(|| format!("cannot read stream {stream_name}"))?,
                            ),
                            _ => break,
                        }
                    }
                    let Some(done) = self.apply_with_retries(&batch, applied, &mut docs, &mut fresh, &stop).await
                    else {
                        return Ok(());
                    };
                    applied = done;
                    progressed = tokio::time::Instant::now();
                    self.applied.store(applied, Ordering::Release);
                    self.metrics.set_applied(stream_name, applied);
                }
            }
        }
    }

    /// The largest document a write may carry.
    fn max_document(&self) -> usize {
        // 0 until the server has said (NATS's default is 1 MiB).
        let max_payload = match self.js.client().server_info().max_payload {
            0 => 1024 * 1024,
            known => known,
        };
        max_payload.saturating_sub(WRITE_OVERHEAD)
    }

    /// [`apply`](Self::apply), given up as soon as the NATS connection is lost (its
    /// requests would only time out).
    async fn apply_watched(
        &self,
        batch: &[jetstream::Message],
        applied: u64,
        docs: &mut Docs,
        fresh: bool,
    ) -> anyhow::Result<u64> {
        self.disconnects
            .cut_short(self.apply(batch, applied, docs, fresh))
            .await
            .map_err(anyhow::Error::from)?
    }

    /// Applies the events of `batch` after `applied` and stores the result; the new
    /// checkpoint.
    async fn apply(
        &self,
        batch: &[jetstream::Message],
        applied: u64,
        docs: &mut Docs,
        fresh: bool,
    ) -> anyhow::Result<u64> {
        let stream_name = self.source.stream();
        let mut events = Vec::with_capacity(batch.len());
        let mut last = applied;
        let mut dead_lettered = 0;
        // How far the stream goes, as the last delivery says.
        let mut seen = applied;
        for message in batch {
            let info = message
                .info()
                .map_err(|e| anyhow::anyhow!("delivery without metadata: {e}"))?;
            let sequence = info.stream_sequence;
            seen = sequence.saturating_add(info.pending);
            if sequence <= last {
                continue;
            }
            last = sequence;
            let delivery = Delivery::of(message)
                .map_err(|e| anyhow::anyhow!("delivery without metadata: {e}"))?;
            match self.source.decode(&delivery) {
                Ok(event) => events.push(event),
                Err(error) => {
                    let reason = error.to_string();
                    eventstore::dead_letter(
                        &self.js,
                        stream_name,
                        CONSUMER_NAME,
                        &delivery,
                        &reason,
                    )
                    .await
                    .map_err(|e| anyhow::anyhow!("cannot dead-letter sequence {sequence}: {e}"))?;
                    tracing::error!(stream = stream_name, sequence, subject = %delivery.subject,
                        reason, "undecodable event dead-lettered; projection goes on");
                    dead_lettered += 1;
                }
            }
        }
        self.metrics.set_last(stream_name, seen);
        if last == applied {
            return Ok(applied);
        }

        let mut missing: Vec<Key> = events
            .iter()
            .flat_map(Event::keys)
            .filter(|key| !docs.has(key))
            .collect();
        missing.sort();
        missing.dedup();
        if fresh {
            for key in &missing {
                docs.load(key, None)?;
            }
        } else {
            let loaded = try_join_all(missing.iter().map(|key| async move {
                let stored = self
                    .bucket
                    .get(key.name())
                    .await
                    .with_context(|| format!("cannot read {}", key.name()))?;
                anyhow::Ok((key, stored))
            }))
            .await?;
            for (key, stored) in loaded {
                docs.load(key, stored.as_deref())
                    .with_context(|| format!("undecodable document {}", key.name()))?;
            }
        }

        for event in &events {
            event.apply(docs);
        }
        let changed = docs.changed().context("cannot encode a document")?;
        let limit = self.max_document();
        if let Some((key, value)) = changed.iter().find(|(_, value)| value.len() > limit) {
            return Err(TooLarge {
                key: key.name(),
                size: value.len(),
                limit,
            }
            .into());
        }
        try_join_all(changed.into_iter().map(|(key, value)| async move {
            self.bucket
                .put(key.name(), value.into())
                .await
                .with_context(|| format!("cannot write {}", key.name()))
        }))
        .await?;
        let checkpoint = serde_json::to_vec(&Checkpoint { sequence: last })?;
        self.bucket
            .put(Key::Checkpoint(stream_name).name(), checkpoint.into())
            .await
            .context("cannot write the checkpoint")?;
        docs.written();

        self.events
            .fetch_add(events.len() as u64, Ordering::Relaxed);
        self.metrics
            .count(stream_name, events.len() as u64, dead_lettered);
        Ok(last)
    }
}
