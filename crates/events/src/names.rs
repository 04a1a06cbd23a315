//! Stream, subject and header names. Part of the contract: renaming one strands data.

use std::fmt::{Debug, Display};
use std::hash::Hash;

use crate::codec::DomainEvent;
use crate::ids::{BookingId, TableId};

/// Stream of the Table aggregates; written only by table-manager.
pub const TABLES_STREAM: &str = "TABLES";
/// Subjects of [`TABLES_STREAM`]: one subject per table, `tables.<tableId>`.
pub const TABLES_SUBJECTS: &str = "tables.>";

/// Stream of the Booking aggregates; written only by booker.
pub const BOOKINGS_STREAM: &str = "BOOKINGS";
/// Subjects of [`BOOKINGS_STREAM`]: one subject per booking, `bookings.<bookingId>`.
pub const BOOKINGS_SUBJECTS: &str = "bookings.>";

/// Where a booking event is republished by JetStream once it is stored (stream
/// `RePublish`): `live.bookings.<bookingId>`. Core NATS only, not a stream; the gateway
/// listens here for a booking's outcome, and only stored events ever appear.
pub const LIVE_BOOKINGS_SUBJECTS: &str = "live.bookings.>";
/// Prefix of [`LIVE_BOOKINGS_SUBJECTS`], to strip to get back the stored subject.
pub const LIVE_PREFIX: &str = "live.";

/// The one subject where lock placements for tables that never existed are recorded.
/// `~` cannot occur in a table id, so it can never be a table's own subject, and bogus ids
/// do not leave one subject each behind.
pub const UNKNOWN_TABLES_SUBJECT: &str = "tables.~unknown";

/// The subject of the restaurant's combinations of tables (one aggregate for all). `~`
/// cannot occur in a table id, so no table's subject is this one.
pub const COMBINATIONS_SUBJECT: &str = "tables.~combinations";

/// Request/reply subject of the staff's "add a table" command (served by table-manager).
pub const ADD_TABLE_COMMAND: &str = "commands.tables.add";
/// Request/reply subject of the staff's "remove a table" command.
pub const REMOVE_TABLE_COMMAND: &str = "commands.tables.remove";
/// Request/reply subject of the staff's "declare a combination" command.
pub const ADD_COMBINATION_COMMAND: &str = "commands.tables.combinations.add";
/// Request/reply subject of the staff's "remove a combination" command.
pub const REMOVE_COMBINATION_COMMAND: &str = "commands.tables.combinations.remove";
/// Queue group of the table command handlers: one replica answers each request.
pub const TABLE_COMMANDS_QUEUE: &str = "table-manager";

/// Stream that keeps every message a consumer could never process.
pub const DEAD_LETTER_STREAM: &str = "DEAD_LETTERS";
/// Subjects of [`DEAD_LETTER_STREAM`]: `deadletter.<stream>.<consumer>`.
pub const DEAD_LETTER_SUBJECTS: &str = "deadletter.>";

/// The id of an aggregate: it names the one subject its events are stored on, so that no
/// caller ever formats a subject by hand.
pub trait AggregateId: Clone + Eq + Hash + Debug + Display + Send + Sync + 'static {
    /// The events of the aggregate this id names (and so their stream).
    type Event: DomainEvent;

    /// The aggregate's subject in its stream.
    fn subject(&self) -> String;
}

/// Subject of one table aggregate.
pub fn table_subject(id: &TableId) -> String {
    format!("tables.{id}")
}

/// Subject of one booking aggregate.
pub fn booking_subject(id: &BookingId) -> String {
    format!("bookings.{id}")
}

/// KV bucket of table-manager's snapshots of the Table aggregates (no other service's
/// user may write it).
pub const TABLE_SNAPSHOTS_BUCKET: &str = "table_snapshots";

/// Where a consumer puts the messages it can never process.
pub fn dead_letter_subject(stream: &str, consumer: &str) -> String {
    format!("deadletter.{stream}.{consumer}")
}

/// Where an operator asks `consumer` to handle one of its dead letters again; the
/// consumer's instances take these requests through a durable consumer of their own.
pub fn dead_letter_replay_subject(stream: &str, consumer: &str) -> String {
    format!("deadletter.{stream}.{consumer}.replay")
}

/// The durable consumer (on [`DEAD_LETTER_STREAM`]) of `consumer`'s replay requests.
pub fn dead_letter_replay_consumer(consumer: &str) -> String {
    format!("{consumer}-replay")
}

/// Header names of the metadata every event carries.
pub mod headers {
    /// Unique id of the event (a UUID derived from the causing command).
    pub const EVENT_ID: &str = "Event-Id";
    /// Type name of the event, e.g. `table-added`.
    pub const EVENT_TYPE: &str = "Event-Type";
    /// Schema version of the payload, a positive integer.
    pub const SCHEMA_VERSION: &str = "Event-Schema-Version";
    /// Correlation id: the booking id for every event of one booking's saga.
    pub const CORRELATION_ID: &str = "Correlation-Id";
    /// Id of the event or command that caused this event.
    pub const CAUSATION_ID: &str = "Causation-Id";
    /// When the event happened, RFC 3339 in UTC.
    pub const OCCURRED_AT: &str = "Occurred-At";

    /// Why a message was dead-lettered.
    pub const DEAD_LETTER_REASON: &str = "Dead-Letter-Reason";
    /// Stream the dead-lettered message came from.
    pub const DEAD_LETTER_STREAM: &str = "Dead-Letter-Stream";
    /// Subject the dead-lettered message was stored under.
    pub const DEAD_LETTER_SUBJECT: &str = "Dead-Letter-Subject";
    /// Stream sequence of the dead-lettered message.
    pub const DEAD_LETTER_SEQUENCE: &str = "Dead-Letter-Sequence";
    /// Durable consumer that gave up on the message.
    pub const DEAD_LETTER_CONSUMER: &str = "Dead-Letter-Consumer";
    /// How many times the message had been delivered.
    pub const DEAD_LETTER_DELIVERIES: &str = "Dead-Letter-Deliveries";
    /// On a replay request: the sequence of the dead letter (in `DEAD_LETTERS`) to handle
    /// again; it is deleted once handled.
    pub const DEAD_LETTER_REPLAY_OF: &str = "Dead-Letter-Replay-Of";
}
