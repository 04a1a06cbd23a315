//! Dead letters: storing a message a consumer can never process, and for operators,
//! listing them and asking their consumer to handle them again (a replay). A replay is
//! served by the running instances of that consumer (any one of them, through a durable
//! consumer of replay requests): the message goes through the same handler as a delivery,
//! and its dead letter is deleted once it is handled.

use std::time::Duration;

use async_nats::HeaderMap;
use async_nats::jetstream::{self, AckKind, stream::Stream};
use events::names::{self, headers as h};
use futures_util::{StreamExt as _, TryStreamExt as _};
use prometheus_client::metrics::gauge::Gauge;
use tokio_util::sync::CancellationToken;

use crate::BoxError;
use crate::consumer::{Delivery, DurableConsumer, HandleError, Handler};

/// How often a consumer counts its dead letters for the `consumer_dead_letters` gauge.
const COUNT_EVERY: Duration = Duration::from_secs(15);
/// Replay requests taken at once.
const REPLAY_BATCH: usize = 16;

/// Stores a message `consumer` can never process in the dead-letter stream, with its
/// origin and `reason` in headers. Storing the same delivery twice keeps one copy.
pub async fn dead_letter(
    js: &jetstream::Context,
    stream: &str,
    consumer: &str,
    delivery: &Delivery,
    reason: &str,
) -> Result<(), BoxError> {
    let mut headers = HeaderMap::new();
    if let Some(original) = &delivery.headers {
        for (name, values) in original.iter() {
            // JetStream's own headers would act again on the dead-letter stream.
            if AsRef::<str>::as_ref(name).starts_with("Nats-") {
                continue;
            }
            for value in values {
                headers.append(name.clone(), value.clone());
            }
        }
    }
    let sanitized: String = reason
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(500)
        .collect();
    headers.insert(h::DEAD_LETTER_REASON, sanitized);
    headers.insert(h::DEAD_LETTER_STREAM, stream);
    headers.insert(h::DEAD_LETTER_SUBJECT, delivery.subject.as_str());
    headers.insert(
        h::DEAD_LETTER_SEQUENCE,
        delivery.stream_sequence.to_string(),
    );
    headers.insert(h::DEAD_LETTER_CONSUMER, consumer);
    headers.insert(h::DEAD_LETTER_DELIVERIES, delivery.delivered.to_string());
    // Dead-lettering the same message twice (crash before the term) stores it once.
    headers.insert(
        "Nats-Msg-Id",
        format!("dl:{stream}:{}:{consumer}", delivery.stream_sequence),
    );
    let subject = names::dead_letter_subject(stream, consumer);
    let ack = js
        .publish_with_headers(subject, headers, delivery.payload.clone())
        .await?;
    ack.await?;
    Ok(())
}

/// One message a consumer could never process, as stored in `DEAD_LETTERS`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    /// Its sequence in `DEAD_LETTERS` (what `replay` takes).
    pub sequence: u64,
    /// Where the message came from: stream, subject and sequence there.
    pub stream: String,
    pub subject: String,
    pub original_sequence: u64,
    /// The durable consumer that gave up on it.
    pub consumer: String,
    pub event_type: Option<String>,
    pub reason: String,
    pub deliveries: i64,
    /// When it was dead-lettered (server time).
    pub stored_at: String,
}

impl DeadLetter {
    fn from_stored(sequence: u64, headers: &HeaderMap, stored_at: String) -> Self {
        let text = |name: &str| headers.get(name).map(|v| v.as_str().to_owned());
        Self {
            sequence,
            stream: text(h::DEAD_LETTER_STREAM).unwrap_or_default(),
            subject: text(h::DEAD_LETTER_SUBJECT).unwrap_or_default(),
            original_sequence: text(h::DEAD_LETTER_SEQUENCE)
                .and_then(|s| s.parse().ok())
                .unwrap_or_default(),
            consumer: text(h::DEAD_LETTER_CONSUMER).unwrap_or_default(),
            event_type: text(h::EVENT_TYPE),
            reason: text(h::DEAD_LETTER_REASON).unwrap_or_default(),
            deliveries: text(h::DEAD_LETTER_DELIVERIES)
                .and_then(|s| s.parse().ok())
                .unwrap_or_default(),
            stored_at,
        }
    }
}

/// The dead letters stored now, oldest first, at most `limit`.
pub async fn list(js: &jetstream::Context, limit: usize) -> Result<Vec<DeadLetter>, BoxError> {
    let mut stream = js.get_stream(names::DEAD_LETTER_STREAM).await?;
    let state = stream.info().await?.state.clone();
    if state.messages == 0 || limit == 0 {
        return Ok(Vec::new());
    }
    let reader = stream
        .create_consumer(jetstream::consumer::pull::OrderedConfig {
            // Dead letters only, not the replay requests (one token more).
            filter_subject: "deadletter.*.*".to_owned(),
            ..Default::default()
        })
        .await?;
    let mut messages = reader.messages().await?;
    let mut found = Vec::new();
    while found.len() < limit {
        let next = tokio::time::timeout(Duration::from_secs(5), messages.next()).await;
        let Ok(Some(message)) = next else { break };
        let message = message?;
        let info = message.info()?;
        let (sequence, pending) = (info.stream_sequence, info.pending);
        let stored_at = info.published.to_string();
        let headers = message.headers.clone().unwrap_or_default();
        found.push(DeadLetter::from_stored(sequence, &headers, stored_at));
        if pending == 0 || sequence >= state.last_sequence {
            break;
        }
    }
    Ok(found)
}

/// Asks the consumer that dead-lettered message `sequence` (of `DEAD_LETTERS`) to handle it
/// again. Returns the dead letter; its consumer's running instances take it from there.
pub async fn replay(js: &jetstream::Context, sequence: u64) -> Result<DeadLetter, BoxError> {
    let stream = js.get_stream(names::DEAD_LETTER_STREAM).await?;
    let stored = stream.get_raw_message(sequence).await?;
    let letter = DeadLetter::from_stored(sequence, &stored.headers, stored.time.to_string());
    if letter.consumer.is_empty() || letter.stream.is_empty() {
        return Err(format!("message {sequence} of DEAD_LETTERS is not a dead letter").into());
    }
    let mut headers = HeaderMap::new();
    for (name, values) in stored.headers.iter() {
        if AsRef::<str>::as_ref(name).starts_with("Nats-") {
            continue;
        }
        for value in values {
            headers.append(name.clone(), value.clone());
        }
    }
    headers.insert(h::DEAD_LETTER_REPLAY_OF, sequence.to_string());
    let subject = names::dead_letter_replay_subject(&letter.stream, &letter.consumer);
    js.publish_with_headers(subject, headers, stored.payload)
        .await?
        .await?;
    Ok(letter)
}

impl DurableConsumer {
    /// Stores the message in the dead-letter stream, then terminates its delivery so the
    /// consumer moves on (`true`). If the dead-letter stream cannot take it, the message is
    /// redelivered later instead of being lost (`false`).
    pub(crate) async fn dead_letter(
        &self,
        message: &jetstream::Message,
        delivery: &Delivery,
        reason: &str,
    ) -> bool {
        let spec = self.spec();
        let consumer = spec.durable.as_str();
        let stored = dead_letter(self.js(), &spec.stream, consumer, delivery, reason).await;
        match stored {
            Ok(()) => {
                tracing::error!(consumer, stream_sequence = delivery.stream_sequence,
                    subject = %delivery.subject, reason, "message dead-lettered");
                self.dead_letter_gauge().inc();
                if let Err(e) = message.ack_with(AckKind::Term).await {
                    tracing::warn!(consumer, error = %e, "term after dead-lettering failed");
                }
                true
            }
            Err(e) => {
                tracing::error!(consumer, stream_sequence = delivery.stream_sequence, error = %e,
                    "cannot dead-letter the message; it will be redelivered");
                let delay = spec.backoff.max;
                if let Err(e) = message.ack_with(AckKind::Nak(Some(delay))).await {
                    tracing::warn!(consumer, error = %e, "nak failed");
                }
                false
            }
        }
    }

    /// Serves the replay requests of this consumer until `shutdown`, and keeps the
    /// `consumer_dead_letters` gauge current.
    pub(crate) async fn serve_replays<H: Handler>(
        &self,
        handler: &H,
        shutdown: &CancellationToken,
    ) {
        let gauge = self.dead_letter_gauge();
        let mut failures = 0;
        let mut count = tokio::time::interval(COUNT_EVERY);
        while !shutdown.is_cancelled() {
            tokio::select! {
                () = shutdown.cancelled() => return,
                _ = count.tick() => self.count_dead_letters(gauge).await,
                served = self.serve_replay_batch(handler) => match served {
                    Ok(()) => failures = 0,
                    Err(error) => {
                        failures += 1;
                        let delay = self.spec().backoff.delay(failures);
                        tracing::warn!(consumer = %self.spec().durable, %error, ?delay,
                            "cannot take replay requests; retrying");
                        tokio::select! {
                            () = shutdown.cancelled() => return,
                            () = tokio::time::sleep(delay) => {}
                        }
                    }
                },
            }
        }
    }

    async fn serve_replay_batch<H: Handler>(&self, handler: &H) -> Result<(), BoxError> {
        let mut batch = self
            .replays()
            .batch()
            .max_messages(REPLAY_BATCH)
            .expires(Duration::from_secs(1))
            .messages()
            .await?;
        while let Some(message) = batch.next().await {
            self.replay_one(handler, message?).await;
        }
        Ok(())
    }

    async fn replay_one<H: Handler>(&self, handler: &H, mut message: jetstream::Message) {
        let consumer = self.spec().durable.as_str();
        let (delivered, replayed_at) = message.info().map_or((1, jiff::Timestamp::now()), |info| {
            (
                info.delivered,
                crate::consumer::server_time(info.published.unix_timestamp_nanos()),
            )
        });
        let headers = message.message.headers.take().unwrap_or_default();
        let number = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.as_str().parse::<u64>().ok())
        };
        let (Some(letter), Some(stream_sequence)) = (
            number(h::DEAD_LETTER_REPLAY_OF),
            number(h::DEAD_LETTER_SEQUENCE),
        ) else {
            tracing::error!(
                consumer,
                "a replay request without its dead letter; dropped"
            );
            let _ = message.ack_with(AckKind::Term).await;
            return;
        };
        let mut original = HeaderMap::new();
        for (name, values) in headers.iter() {
            if AsRef::<str>::as_ref(name).starts_with("Dead-Letter-") {
                continue;
            }
            for value in values {
                original.append(name.clone(), value.clone());
            }
        }
        let delivery = Delivery {
            subject: headers
                .get(h::DEAD_LETTER_SUBJECT)
                .map(|v| v.as_str().to_owned())
                .unwrap_or_default(),
            stream_sequence,
            delivered,
            // The original's time is not kept; the request's is the nearest there is.
            stored_at: replayed_at,
            headers: Some(original),
            payload: std::mem::take(&mut message.message.payload),
        };
        match self
            .handle_reporting_progress(handler, &message, &delivery)
            .await
        {
            Ok(()) => {
                match self.delete_dead_letter(letter).await {
                    Ok(()) => {
                        tracing::info!(consumer, letter, "dead letter replayed");
                        self.dead_letter_gauge().dec();
                    }
                    Err(error) => tracing::warn!(consumer, letter, %error,
                        "dead letter replayed but not deleted"),
                }
                let _ = message.ack().await;
            }
            Err(HandleError::Retry(error)) => {
                let delay = self.spec().backoff.delay(delivered);
                tracing::warn!(consumer, letter, %error, ?delay, "replay failed; will retry");
                let _ = message.ack_with(AckKind::Nak(Some(delay))).await;
            }
            Err(HandleError::Defer(delay)) => {
                let _ = message.ack_with(AckKind::Nak(Some(delay))).await;
            }
            Err(HandleError::Poison(reason)) => {
                tracing::error!(
                    consumer,
                    letter,
                    reason,
                    "replayed dead letter still cannot be processed; kept"
                );
                let _ = message.ack_with(AckKind::Term).await;
            }
        }
    }

    async fn delete_dead_letter(&self, sequence: u64) -> Result<(), BoxError> {
        let stream: Stream = self.js().get_stream(names::DEAD_LETTER_STREAM).await?;
        stream.delete_message(sequence).await?;
        Ok(())
    }

    async fn count_dead_letters(&self, gauge: &Gauge) {
        let spec = self.spec();
        let subject = names::dead_letter_subject(&spec.stream, &spec.durable);
        let counted = async {
            let stream = self.js().get_stream(names::DEAD_LETTER_STREAM).await?;
            let mut subjects = stream.info_with_subjects(&subject).await?;
            let mut total = 0;
            while let Some((_, n)) = subjects.try_next().await? {
                total += n;
            }
            Ok::<_, BoxError>(total)
        };
        match counted.await {
            Ok(total) => {
                gauge.set(i64::try_from(total).unwrap_or(i64::MAX));
            }
            Err(error) => {
                tracing::debug!(consumer = %spec.durable, %error, "cannot count dead letters");
            }
        }
    }
}
