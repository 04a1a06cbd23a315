//! Encoding events to payloads and decoding them back, with typed errors.

/// An event payload could not be turned back into an event.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("unknown event type {event_type:?}")]
    UnknownType { event_type: String },
    #[error("event type {event_type:?} has no schema version {version}")]
    UnsupportedSchemaVersion { event_type: String, version: u32 },
    #[error("payload of {event_type:?} does not match its schema: {source}")]
    BadPayload {
        event_type: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("header {0} is missing")]
    MissingHeader(&'static str),
    #[error("header {header} has an invalid value {value:?}")]
    BadHeader { header: &'static str, value: String },
}

impl PartialEq for DecodeError {
    fn eq(&self, other: &Self) -> bool {
        // serde_json::Error is not comparable; tests only need to compare the kind.
        match (self, other) {
            (Self::UnknownType { event_type: a }, Self::UnknownType { event_type: b }) => a == b,
            (
                Self::UnsupportedSchemaVersion {
                    event_type: a,
                    version: x,
                },
                Self::UnsupportedSchemaVersion {
                    event_type: b,
                    version: y,
                },
            ) => a == b && x == y,
            (Self::BadPayload { event_type: a, .. }, Self::BadPayload { event_type: b, .. }) => {
                a == b
            }
            (Self::MissingHeader(a), Self::MissingHeader(b)) => a == b,
            (
                Self::BadHeader {
                    header: a,
                    value: x,
                },
                Self::BadHeader {
                    header: b,
                    value: y,
                },
            ) => a == b && x == y,
            _ => false,
        }
    }
}

/// An event could not be serialized (only possible for a broken `Serialize` impl).
#[derive(Debug, thiserror::Error)]
#[error("cannot encode event {event_type:?}: {source}")]
pub struct EncodeError {
    pub event_type: &'static str,
    #[source]
    pub source: serde_json::Error,
}

/// A family of events that live in one stream (all events of one aggregate type).
pub trait DomainEvent: Sized + Clone + std::fmt::Debug + Send + Sync + 'static {
    /// The stream the family is stored in.
    const STREAM: &'static str;

    /// The type name of this event, as in DESIGN.md.
    fn event_type(&self) -> &'static str;

    /// The schema version this build writes for the event's type.
    fn schema_version(&self) -> u32;

    /// The JSON payload (the event's data, without metadata).
    fn encode(&self) -> Result<Vec<u8>, EncodeError>;

    /// Turns a stored payload back into an event, upcasting older schema versions.
    fn decode(event_type: &str, schema_version: u32, payload: &[u8]) -> Result<Self, DecodeError>;

    /// Every type name of the family, for listings and tests.
    fn type_names() -> &'static [&'static str];
}

/// The type name an event's data struct is stored under (its `Event-Type` header), e.g.
/// `TableBookingConfirmed::TYPE == "table-booking-confirmed"`.
pub trait EventType {
    const TYPE: &'static str;
}

/// Declares an event family enum whose variants each wrap one data struct, with the type
/// name and current schema version of each, and makes its aggregate's id an
/// [`AggregateId`](crate::names::AggregateId) stored at the given subject function. Decoding an older version goes through the
/// family's `upcast` function (which must exist in the module).
macro_rules! event_family {
    (
        $(#[$doc:meta])*
        $family:ident in $stream:expr, keyed by $id:ident at $subject:path => {
            $( $variant:ident($data:ty) = $type_name:literal v $version:literal ),+ $(,)?
        }
    ) => {
        impl $crate::names::AggregateId for $id {
            type Event = $family;

            fn subject(&self) -> String {
                $subject(self)
            }
        }

        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub enum $family {
            $( $variant($data) ),+
        }

        $(
            impl $crate::codec::EventType for $data {
                const TYPE: &'static str = $type_name;
            }
        )+

        impl $crate::codec::DomainEvent for $family {
            const STREAM: &'static str = $stream;

            fn event_type(&self) -> &'static str {
                match self {
                    $( Self::$variant(_) => $type_name ),+
                }
            }

            fn schema_version(&self) -> u32 {
                match self {
                    $( Self::$variant(_) => $version ),+
                }
            }

            fn encode(&self) -> Result<Vec<u8>, $crate::codec::EncodeError> {
                let result = match self {
                    $( Self::$variant(data) => serde_json::to_vec(data) ),+
                };
                result.map_err(|source| $crate::codec::EncodeError {
                    event_type: self.event_type(),
                    source,
                })
            }

            fn decode(
                event_type: &str,
                schema_version: u32,
                payload: &[u8],
            ) -> Result<Self, $crate::codec::DecodeError> {
                use $crate::codec::DecodeError;
                let bad = |source| DecodeError::BadPayload {
                    event_type: event_type.to_owned(),
                    source,
                };
                match event_type {
                    $(
                        $type_name => {
                            let data: $data = if schema_version == $version {
                                serde_json::from_slice(payload).map_err(bad)?
                            } else if schema_version > $version || schema_version == 0 {
                                return Err(DecodeError::UnsupportedSchemaVersion {
                                    event_type: event_type.to_owned(),
                                    version: schema_version,
                                });
                            } else {
                                let old: serde_json::Value =
                                    serde_json::from_slice(payload).map_err(bad)?;
                                let current = upcast(event_type, schema_version, old)?;
                                serde_json::from_value(current).map_err(bad)?
                            };
                            Ok(Self::$variant(data))
                        }
                    )+
                    other => Err(DecodeError::UnknownType { event_type: other.to_owned() }),
                }
            }

            fn type_names() -> &'static [&'static str] {
                &[ $( $type_name ),+ ]
            }
        }

        $(
            impl From<$data> for $family {
                fn from(data: $data) -> Self {
                    Self::$variant(data)
                }
            }
        )+
    };
}

pub(crate) use event_family;
