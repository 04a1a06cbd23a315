//! What a consumer hands its handler: one delivery of a stored message, and how the
//! handler answers it.

use std::future::Future;
use std::time::Duration;

use async_nats::HeaderMap;
use async_nats::jetstream;
use bytes::Bytes;
use events::{DecodeError, DomainEvent};

use crate::BoxError;
use crate::recorded::Recorded;

/// A JetStream timestamp as a `jiff` one (the epoch if out of range, which JetStream never
/// sends).
pub(crate) fn server_time(unix_nanos: i128) -> jiff::Timestamp {
    jiff::Timestamp::from_nanosecond(unix_nanos).unwrap_or_default()
}

/// One delivery of a stored message to a consumer.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub subject: String,
    pub stream_sequence: u64,
    /// 1 for the first delivery, 2 for the first redelivery, ...
    pub delivered: i64,
    /// When the server stored the message (its clock, the same for every reader; unlike
    /// the `occurredAt` of the replica that wrote it).
    pub stored_at: jiff::Timestamp,
    pub headers: Option<HeaderMap>,
    pub payload: Bytes,
}

impl Delivery {
    /// The delivery a JetStream message is (headers and payload shared, not copied).
    pub fn of(message: &jetstream::Message) -> Result<Self, BoxError> {
        let info = message.info()?;
        Ok(Self {
            subject: message.subject.to_string(),
            stream_sequence: info.stream_sequence,
            delivered: info.delivered,
            stored_at: server_time(info.published.unix_timestamp_nanos()),
            headers: message.headers.clone(),
            payload: message.payload.clone(),
        })
    }

    /// The event's type name, from its `Event-Type` header.
    pub fn event_type(&self) -> Option<&str> {
        Some(
            self.headers
                .as_ref()?
                .get(events::names::headers::EVENT_TYPE)?
                .as_str(),
        )
    }

    /// The event in this delivery.
    pub fn decode<E: DomainEvent>(&self) -> Result<Recorded<E>, DecodeError> {
        Recorded::decode(
            &self.subject,
            self.stream_sequence,
            self.headers.as_ref(),
            &self.payload,
        )
    }
}

/// Why a handler did not finish a delivery.
#[derive(Debug, thiserror::Error)]
pub enum HandleError {
    /// Might work later (NATS hiccup, leader election, conflict storm): redelivered after
    /// a backoff, for as long as it takes. Never dead-lettered.
    #[error("transient failure: {0}")]
    Retry(#[source] BoxError),
    /// Not yet: the message is a timer that is due later. Redelivered after the delay;
    /// not a failure.
    #[error("deferred for {0:?}")]
    Defer(Duration),
    /// Can never work (undecodable, unknown type, a handler that panics on it):
    /// dead-lettered at once.
    #[error("cannot ever be processed: {0}")]
    Poison(String),
}

impl From<DecodeError> for HandleError {
    fn from(error: DecodeError) -> Self {
        Self::Poison(error.to_string())
    }
}

/// Handles the deliveries of one consumer.
pub trait Handler: Send + Sync + 'static {
    fn handle(&self, delivery: &Delivery) -> impl Future<Output = Result<(), HandleError>> + Send;

    /// The event types (`Event-Type` header, see [`events::EventType`]) this handler
    /// does nothing with, whatever their content: a delivery of one is acked as handled
    /// without being decoded or handed over. A type not named here is handed over as
    /// before, so leaving one out costs time, never correctness.
    fn ignores(&self) -> &'static [&'static str] {
        &[]
    }
}
