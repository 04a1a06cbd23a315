//! Events of the Table aggregate (stream `TABLES`, subject `tables.<tableId>`).

use serde::{Deserialize, Serialize};

use crate::codec::{DecodeError, event_family};
use crate::ids::{BookingId, Seats, TableId};
use crate::names::{TABLES_STREAM, table_subject};
use crate::slot::TimeSlot;

/// Why a lock could not be placed on a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LockFailureReason {
    TableNotFound,
    TableRemoved,
    SlotTaken,
    TooSmall,
}

/// Why a lock was removed from a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LockRemovalCause {
    BookingCancelled,
    SlotEnded,
    BookingRejected,
}

/// `table-added`: staff added a table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TableAdded {
    pub id: TableId,
    pub seats: Seats,
}

/// `table-removed`: staff removed a table; its id stays used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TableRemoved {
    pub id: TableId,
}

/// `table-lock-placed`: the table is held for a booking in a slot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TableLockPlaced {
    pub id: TableId,
    pub time_slot: TimeSlot,
    pub booking_id: BookingId,
}

/// `table-lock-placement-failed`: the table could not be held for the booking.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TableLockPlacementFailed {
    pub id: TableId,
    pub time_slot: TimeSlot,
    pub booking_id: BookingId,
    pub reason: LockFailureReason,
}

/// `table-lock-removed`: the table is free again in the slot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TableLockRemoved {
    pub id: TableId,
    pub time_slot: TimeSlot,
    pub booking_id: BookingId,
    pub cause: LockRemovalCause,
}

event_family! {
    /// Every event of the Table aggregate.
    TableEvent in TABLES_STREAM, keyed by TableId at table_subject => {
        Added(TableAdded) = "table-added" v 1,
        Removed(TableRemoved) = "table-removed" v 1,
        LockPlaced(TableLockPlaced) = "table-lock-placed" v 1,
        LockPlacementFailed(TableLockPlacementFailed) = "table-lock-placement-failed" v 1,
        LockRemoved(TableLockRemoved) = "table-lock-removed" v 1,
    }
}

impl TableEvent {
    /// The table the event belongs to.
    pub fn table_id(&self) -> &TableId {
        match self {
            Self::Added(e) => &e.id,
            Self::Removed(e) => &e.id,
            Self::LockPlaced(e) => &e.id,
            Self::LockPlacementFailed(e) => &e.id,
            Self::LockRemoved(e) => &e.id,
        }
    }
}

/// Turns an older schema version into the current one. No table event has an older
/// version yet; when one gets a v2, its v1 -> v2 step goes here.
fn upcast(
    event_type: &str,
    version: u32,
    _old: serde_json::Value,
) -> Result<serde_json::Value, DecodeError> {
    Err(DecodeError::UnsupportedSchemaVersion {
        event_type: event_type.to_owned(),
        version,
    })
}
