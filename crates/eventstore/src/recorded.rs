//! An event as stored: its data, metadata and position.

use async_nats::HeaderMap;
use events::{DecodeError, DomainEvent, Metadata};

/// One stored event of an aggregate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded<E> {
    /// The aggregate's subject, e.g. `tables.t1`.
    pub subject: String,
    /// Stream sequence: the aggregate's version right after this event.
    pub sequence: u64,
    pub metadata: Metadata,
    pub event: E,
}

impl<E: DomainEvent> Recorded<E> {
    /// Decodes a stored message. Never panics: garbage gives a [`DecodeError`].
    pub fn decode(
        subject: &str,
        sequence: u64,
        headers: Option<&HeaderMap>,
        payload: &[u8],
    ) -> Result<Self, DecodeError> {
        let empty = HeaderMap::new();
        let headers = headers.unwrap_or(&empty);
        let metadata = Metadata::from_headers(|name| headers.get(name).map(|v| v.as_str()))?;
        let event = E::decode(&metadata.event_type, metadata.schema_version, payload)?;
        Ok(Self {
            subject: subject.to_owned(),
            sequence,
            metadata,
            event,
        })
    }
}
