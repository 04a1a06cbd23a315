//! Storing a batch until it is stored: a failed write is retried after a pause (ADR 0009);
//! a batch with a document too large for any write is applied one event at a time, the
//! event that cannot be stored dead-lettered and skipped.

use anyhow::Context as _;
use async_nats::jetstream;
use events::read_model::{Checkpoint, Key};
use eventstore::{Delivery, Pauses};
use tokio_util::sync::CancellationToken;

use super::{CACHE_LIMIT, CONSUMER_NAME, Projection, TooLarge, WRITE_BACKOFF};
use crate::model::Docs;

impl Projection {
    /// Applies a batch until it is stored; `None` if told to stop first.
    pub(super) async fn apply_with_retries(
        &self,
        batch: &[jetstream::Message],
        applied: u64,
        docs: &mut Docs,
        fresh: &mut bool,
        stop: &CancellationToken,
    ) -> Option<u64> {
        let mut pauses = WRITE_BACKOFF.pauses();
        loop {
            match self.apply_watched(batch, applied, docs, *fresh).await {
                Ok(done) => {
                    self.metrics.set_store_full(false);
                    if docs.len() > CACHE_LIMIT {
                        docs.clear();
                        *fresh = false;
                    }
                    return Some(done);
                }
                Err(error) if error.downcast_ref::<TooLarge>().is_some() => {
                    docs.clear();
                    *fresh = false;
                    return self.apply_singly(batch, applied, docs, fresh, stop).await;
                }
                Err(error) => {
                    if !self.back_off(&error, &mut pauses, docs, fresh, stop).await {
                        return None;
                    }
                }
            }
        }
    }

    /// After a failed write: logs it (and whether the bucket is full), forgets what is in
    /// memory (it may be ahead of the store), and pauses (0.1 s doubling up to 5 s).
    /// `false` if told to stop meanwhile.
    async fn back_off(
        &self,
        error: &anyhow::Error,
        pauses: &mut Pauses,
        docs: &mut Docs,
        fresh: &mut bool,
        stop: &CancellationToken,
    ) -> bool {
        let text = format!("{error:#}");
        let full = eventstore::limit_reached(&text);
        self.metrics.set_store_full(full);
        tracing::warn!(stream = self.source.stream(), error = text, full,
            retry_in = ?pauses.next_delay(), "cannot apply events; retrying");
        docs.clear();
        *fresh = false;
        pauses.pause(stop).await
    }

    /// Applies a batch one event at a time, after one of its writes turned out too large:
    /// the event that would make a document too large is dead-lettered and skipped, so one
    /// write that can never succeed does not stall the read side. `None` if told to stop.
    async fn apply_singly(
        &self,
        batch: &[jetstream::Message],
        applied: u64,
        docs: &mut Docs,
        fresh: &mut bool,
        stop: &CancellationToken,
    ) -> Option<u64> {
        let mut done = applied;
        for message in batch {
            let mut pauses = WRITE_BACKOFF.pauses();
            loop {
                let outcome = match self
                    .apply_watched(std::slice::from_ref(message), done, docs, *fresh)
                    .await
                {
                    Ok(next) => Ok(next),
                    Err(error) => match error.downcast::<TooLarge>() {
                        Ok(too_large) => {
                            docs.clear();
                            *fresh = false;
                            self.skip(message, &too_large).await
                        }
                        Err(other) => Err(other),
                    },
                };
                match outcome {
                    Ok(next) => {
                        done = next;
                        break;
                    }
                    Err(error) => {
                        if !self.back_off(&error, &mut pauses, docs, fresh, stop).await {
                            return None;
                        }
                    }
                }
            }
        }
        Some(done)
    }

    /// Dead-letters an event whose effect cannot be stored, and moves the checkpoint past
    /// it; the new checkpoint.
    async fn skip(&self, message: &jetstream::Message, why: &TooLarge) -> anyhow::Result<u64> {
        let stream_name = self.source.stream();
        let delivery =
            Delivery::of(message).map_err(|e| anyhow::anyhow!("delivery without metadata: {e}"))?;
        let reason = why.to_string();
        eventstore::dead_letter(&self.js, stream_name, CONSUMER_NAME, &delivery, &reason)
            .await
            .map_err(|e| anyhow::anyhow!("cannot dead-letter an event: {e}"))?;
        let sequence = delivery.stream_sequence;
        let checkpoint = serde_json::to_vec(&Checkpoint { sequence })?;
        self.bucket
            .put(Key::Checkpoint(stream_name).name(), checkpoint.into())
            .await
            .context("cannot write the checkpoint")?;
        tracing::error!(stream = stream_name, sequence, subject = %delivery.subject, reason,
            "an event's effect on the read models cannot be stored; dead-lettered, projection goes on");
        self.metrics.count(stream_name, 0, 1);
        Ok(sequence)
    }
}
