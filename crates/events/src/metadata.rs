//! The metadata every event carries in its message headers.

use jiff::Timestamp;

use crate::codec::DecodeError;
use crate::ids::{CausationId, CorrelationId, EventId};
use crate::names::headers;

/// What is known about an event besides its data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metadata {
    pub event_id: EventId,
    pub event_type: String,
    pub schema_version: u32,
    pub correlation_id: CorrelationId,
    pub causation_id: CausationId,
    pub occurred_at: Timestamp,
}

impl Metadata {
    /// The metadata as `(header name, value)` pairs, in a fixed order.
    pub fn to_headers(&self) -> [(&'static str, String); 6] {
        [
            (headers::EVENT_ID, self.event_id.to_string()),
            (headers::EVENT_TYPE, self.event_type.clone()),
            (headers::SCHEMA_VERSION, self.schema_version.to_string()),
            (headers::CORRELATION_ID, self.correlation_id.to_string()),
            (headers::CAUSATION_ID, self.causation_id.to_string()),
            (headers::OCCURRED_AT, self.occurred_at.to_string()),
        ]
    }

    /// Reads the metadata back from headers; `get` returns the value of a header by name.
    pub fn from_headers<'a>(get: impl Fn(&str) -> Option<&'a str>) -> Result<Self, DecodeError> {
        let header = |name: &'static str| get(name).ok_or(DecodeError::MissingHeader(name));
        let bad = |name: &'static str, value: &str| DecodeError::BadHeader {
            header: name,
            value: value.chars().take(80).collect(),
        };
        let parse_uuid = |name: &'static str| -> Result<uuid::Uuid, DecodeError> {
            let value = header(name)?;
            uuid::Uuid::parse_str(value).map_err(|_| bad(name, value))
        };

        let schema = header(headers::SCHEMA_VERSION)?;
        let occurred = header(headers::OCCURRED_AT)?;
        Ok(Self {
            event_id: EventId::from_uuid(parse_uuid(headers::EVENT_ID)?),
            event_type: header(headers::EVENT_TYPE)?.to_owned(),
            schema_version: schema
                .parse()
                .ok()
                .filter(|v| *v > 0)
                .ok_or_else(|| bad(headers::SCHEMA_VERSION, schema))?,
            correlation_id: CorrelationId::from_uuid(parse_uuid(headers::CORRELATION_ID)?),
            causation_id: CausationId::from_uuid(parse_uuid(headers::CAUSATION_ID)?),
            occurred_at: occurred
                .parse()
                .map_err(|_| bad(headers::OCCURRED_AT, occurred))?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn sample() -> Metadata {
        Metadata {
            event_id: EventId::new(),
            event_type: "table-added".into(),
            schema_version: 1,
            correlation_id: CorrelationId::new(),
            causation_id: CausationId::new(),
            occurred_at: "2026-11-24T10:00:00.123Z".parse().expect("timestamp"),
        }
    }

    #[test]
    fn metadata_survives_a_round_trip_through_headers() {
        let meta = sample();
        let map: HashMap<_, _> = meta.to_headers().into_iter().collect();
        let back = Metadata::from_headers(|name| map.get(name).map(String::as_str));
        assert_eq!(back, Ok(meta));
    }

    #[test]
    fn a_missing_header_is_named_in_the_error() {
        let meta = sample();
        let map: HashMap<_, _> = meta
            .to_headers()
            .into_iter()
            .filter(|(name, _)| *name != headers::CAUSATION_ID)
            .collect();
        let back = Metadata::from_headers(|name| map.get(name).map(String::as_str));
        assert_eq!(back, Err(DecodeError::MissingHeader(headers::CAUSATION_ID)));
    }

    #[test]
    fn a_garbled_header_is_a_typed_error_not_a_panic() {
        let meta = sample();
        for (garbled, value) in [
            (headers::EVENT_ID, "nope"),
            (headers::SCHEMA_VERSION, "0"),
            (headers::SCHEMA_VERSION, "x"),
            (headers::OCCURRED_AT, "yesterday"),
        ] {
            let mut map: HashMap<_, _> = meta.to_headers().into_iter().collect();
            map.insert(garbled, value.to_owned());
            let back = Metadata::from_headers(|name| map.get(name).map(String::as_str));
            assert!(
                matches!(back, Err(DecodeError::BadHeader { header, .. }) if header == garbled),
                "{garbled}={value}: {back:?}"
            );
        }
    }
}
