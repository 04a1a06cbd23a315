//! Identifiers and bounded numbers as newtypes that can only hold valid values.

use std::fmt;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A value that was refused by one of the parsing constructors of this module.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidId {
    #[error("must match ^[A-Za-z0-9_-]{{1,64}}$")]
    TableId,
    #[error("must be a UUID")]
    Uuid,
    #[error("must be an integer from {min} to {max}")]
    OutOfRange { min: u8, max: u8 },
    #[error("must be 1 to 200 printable characters")]
    CommandId,
}

/// Whether `raw` is a name staff may give a table or a combination.
fn is_staff_name(raw: &str) -> bool {
    (1..=64).contains(&raw.len())
        && raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// An id staff choose: `^[A-Za-z0-9_-]{1,64}$`, a subset of what NATS allows in a subject
/// token, so it can be used as one without escaping.
macro_rules! staff_named_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub fn parse(raw: &str) -> Result<Self, InvalidId> {
                if is_staff_name(raw) {
                    Ok(Self(raw.to_owned()))
                } else {
                    Err(InvalidId::TableId)
                }
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = InvalidId;
            fn try_from(raw: String) -> Result<Self, Self::Error> {
                Self::parse(&raw)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> Self {
                id.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

staff_named_id! {
    /// Id of a table, chosen by the restaurant staff (`tables.<id>` is its subject).
    TableId
}

staff_named_id! {
    /// Id of a combination of tables staff declared joinable. Combinations and tables have
    /// ids of their own kinds: `c1` may name both.
    CombinationId
}

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// A fresh, time-ordered (v7) id.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }

            pub fn parse(raw: &str) -> Result<Self, InvalidId> {
                Uuid::parse_str(raw).map(Self).map_err(|_| InvalidId::Uuid)
            }

            pub const fn from_uuid(uuid: Uuid) -> Self {
                Self(uuid)
            }

            pub const fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.hyphenated().fmt(f)
            }
        }
    };
}

uuid_id!(
    /// Id of a booking; also the correlation id of every event of its saga.
    BookingId
);
uuid_id!(
    /// Id of one recorded event; derived from the command that caused it, so that a retried
    /// command produces the same id (see [`CommandId::event_id`]).
    EventId
);
uuid_id!(
    /// Groups every event that belongs to one business transaction (one booking's saga).
    CorrelationId
);
uuid_id!(
    /// The id of the event or command that caused an event.
    CausationId
);

impl From<BookingId> for CorrelationId {
    fn from(id: BookingId) -> Self {
        Self(id.0)
    }
}

impl From<EventId> for CausationId {
    fn from(id: EventId) -> Self {
        Self(id.0)
    }
}

/// Identity of a command: whatever makes two deliveries of "the same" command equal.
///
/// The events a command produces get ids derived from it, and those ids are the JetStream
/// dedup ids (`Nats-Msg-Id`), so a retried or redelivered command cannot append twice.
/// Examples: `http:<idempotency-key uuid>`, `lock:<initiated event id>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CommandId(String);

/// Fixed namespace for the v5 UUIDs of event ids. Changing it would change every derived
/// id, so it is part of the contract.
const EVENT_ID_NAMESPACE: Uuid = Uuid::from_u128(0x5c1b_7f0e_2d4a_4e8b_9a51_6f3c_0d2e_8b71);

impl CommandId {
    pub fn new(raw: impl Into<String>) -> Result<Self, InvalidId> {
        let raw = raw.into();
        let valid = (1..=200).contains(&raw.len()) && raw.chars().all(|c| !c.is_control());
        if valid {
            Ok(Self(raw))
        } else {
            Err(InvalidId::CommandId)
        }
    }

    /// A command id for work that is caused by a recorded event (a saga step): the same
    /// event redelivered always yields the same command id.
    pub fn caused_by(step: &str, event: EventId) -> Self {
        Self(format!("{step}:{event}"))
    }

    /// A command id nobody will ever repeat.
    pub fn unique(kind: &str) -> Self {
        Self(format!("{kind}:{}", Uuid::now_v7()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The id of the `index`-th event this command produces (UUID v5 of `<command>/<index>`).
    pub fn event_id(&self, index: usize) -> EventId {
        let name = format!("{}/{index}", self.0);
        EventId(Uuid::new_v5(&EVENT_ID_NAMESPACE, name.as_bytes()))
    }
}

impl fmt::Display for CommandId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

macro_rules! bounded_u8 {
    ($(#[$doc:meta])* $name:ident, $min:literal ..= $max:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "u64", into = "u8")]
        pub struct $name(u8);

        impl $name {
            pub const MIN: u8 = $min;
            pub const MAX: u8 = $max;

            pub fn new(value: u64) -> Result<Self, InvalidId> {
                if (u64::from(Self::MIN)..=u64::from(Self::MAX)).contains(&value) {
                    // In range, so it fits a u8.
                    Ok(Self(value as u8))
                } else {
                    Err(InvalidId::OutOfRange { min: Self::MIN, max: Self::MAX })
                }
            }

            pub const fn get(self) -> u8 {
                self.0
            }
        }

        impl TryFrom<u64> for $name {
            type Error = InvalidId;
            fn try_from(value: u64) -> Result<Self, Self::Error> {
                Self::new(value)
            }
        }

        impl From<$name> for u8 {
            fn from(value: $name) -> Self {
                value.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

bounded_u8!(
    /// Seats at a table: 1 to 50.
    Seats, 1..=50
);
bounded_u8!(
    /// People in a booking party: 1 to 50.
    PartySize, 1..=50
);

/// Keyed digest of a booking's access code. Events keep only this, never the code itself.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AccessCodeDigest(String);

impl AccessCodeDigest {
    pub fn new(digest: impl Into<String>) -> Self {
        Self(digest.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_ids_of_the_allowed_alphabet_up_to_64_characters_are_accepted() {
        for ok in ["t1", "A-b_9", &"x".repeat(64)] {
            assert_eq!(
                TableId::parse(ok).map(|id| id.as_str().to_owned()),
                Ok(ok.to_owned())
            );
        }
    }

    #[test]
    fn table_ids_that_are_empty_too_long_or_contain_other_characters_are_refused() {
        for bad in ["", &"x".repeat(65), "t.1", "t 1", "t*", "t>", "é", "t/1"] {
            assert_eq!(TableId::parse(bad), Err(InvalidId::TableId), "{bad:?}");
        }
    }

    #[test]
    fn a_table_id_that_breaks_the_rule_is_refused_when_deserialized() {
        assert!(serde_json::from_str::<TableId>("\"a.b\"").is_err());
        assert!(serde_json::from_str::<TableId>("\"ab\"").is_ok());
    }

    #[test]
    fn seats_and_party_sizes_accept_one_to_fifty_only() {
        assert!(Seats::new(0).is_err());
        assert_eq!(Seats::new(1).map(Seats::get), Ok(1));
        assert_eq!(PartySize::new(50).map(PartySize::get), Ok(50));
        assert!(PartySize::new(51).is_err());
        assert!(serde_json::from_str::<Seats>("300").is_err());
        assert!(serde_json::from_str::<Seats>("-1").is_err());
    }

    #[test]
    fn the_same_command_always_derives_the_same_event_ids() {
        let command = CommandId::caused_by("lock", EventId::new());
        assert_eq!(command.event_id(0), command.event_id(0));
        assert_ne!(command.event_id(0), command.event_id(1));
        let other = CommandId::unique("http");
        assert_ne!(command.event_id(0), other.event_id(0));
    }

    #[test]
    fn command_ids_with_control_characters_or_no_content_are_refused() {
        assert!(CommandId::new("").is_err());
        assert!(CommandId::new("a\nb").is_err());
        assert!(CommandId::new("http:abc").is_ok());
    }
}
