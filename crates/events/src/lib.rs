//! The contract between the services: event and command types, their metadata, stream and
//! subject names, schema versions.
//!
//! Rule: types, serde and pure functions only. This crate never does I/O and knows nothing
//! of NATS clients; everything here must be decodable by any service, old or new, so types are only ever
//! added, never edited or renamed (a new shape is a new schema version with an upcaster).

pub mod booking;
mod codec;
pub mod commands;
#[cfg(feature = "fixtures")]
pub mod fixtures;
pub mod ids;
pub mod metadata;
pub mod names;
#[cfg(feature = "openapi")]
mod openapi;
pub mod read_model;
pub mod slot;
pub mod steps;
pub mod table;

pub use booking::{
    BookingEvent, BookingPlace, BookingStatus, CancellationCause, ChangeRejectionReason, Customer,
    Move, RejectionReason, ReleasedLock, TableBookingCancelled, TableBookingChangeRejected,
    TableBookingChangeRequested, TableBookingChanged, TableBookingConfirmed,
    TableBookingCustomerErased, TableBookingInitiated, TableBookingReassigned,
    TableBookingRejected, single,
};
pub use codec::{DecodeError, DomainEvent, EncodeError, EventType};
pub use commands::{
    AddCombination, AddTable, RemoveCombination, RemoveTable, TableCommandRefusal,
    TableCommandReply,
};
pub use ids::{
    AccessCodeDigest, BookingId, CausationId, CombinationId, CommandId, CorrelationId, EventId,
    InvalidId, PartySize, Seats, TableId,
};
pub use metadata::Metadata;
pub use names::AggregateId;
pub use slot::{InvalidTimeSlot, TimeSlot};
pub use steps::{Step, StepName};
pub use table::{
    AllCombinations, LockFailureReason, LockRemovalCause, Revision, TableAdded,
    TableCombinationAdded, TableCombinationRemoved, TableEvent, TableLockPlaced,
    TableLockPlacementFailed, TableLockRemoved, TableRemoved,
};
