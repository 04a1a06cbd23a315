//! Events of the Table aggregate (stream `TABLES`, subject `tables.<tableId>`), and of the
//! restaurant's combinations of tables (subject `tables.~combinations`, ADR 0026): every
//! consumer of `TABLES` reads one family.

use serde::{Deserialize, Serialize};

use crate::codec::{DecodeError, event_family};
use crate::ids::{BookingId, CombinationId, Seats, TableId};
use crate::names::{AggregateId, COMBINATIONS_SUBJECT, TABLES_STREAM, table_subject};
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
    /// The booking moved to other tables or another slot (the old place is freed).
    BookingChanged,
    /// A change of the booking did not take effect (the new place is freed).
    ChangeRejected,
}

/// Which of a booking's lock requests a decision answers (ADR 0029): 0 for the place it
/// was booked for, `n` for its `n`-th change. A table decides each once, so a booking
/// changed back to a slot, or asking again for a table a refused change asked for, is
/// decided afresh. Left out when 0, as every lock event written before changes was.
pub type Revision = u32;

fn is_first(revision: &Revision) -> bool {
    *revision == 0
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
    #[serde(default, skip_serializing_if = "is_first")]
    pub revision: Revision,
}

/// `table-lock-placement-failed`: the table could not be held for the booking.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TableLockPlacementFailed {
    pub id: TableId,
    pub time_slot: TimeSlot,
    pub booking_id: BookingId,
    #[serde(default, skip_serializing_if = "is_first")]
    pub revision: Revision,
    pub reason: LockFailureReason,
}

/// `table-lock-removed`: the table is free again in the slot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TableLockRemoved {
    pub id: TableId,
    pub time_slot: TimeSlot,
    pub booking_id: BookingId,
    #[serde(default, skip_serializing_if = "is_first")]
    pub revision: Revision,
    pub cause: LockRemovalCause,
}

/// `table-combination-added`: staff declared that `tables` (2 to 4, sorted, each added
/// and not removed when declared) can be joined and then seat `seats`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TableCombinationAdded {
    pub id: CombinationId,
    pub tables: Vec<TableId>,
    pub seats: Seats,
}

/// `table-combination-removed`: the combination can no longer be booked; its id stays used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TableCombinationRemoved {
    pub id: CombinationId,
}

event_family! {
    /// Every event of the Table aggregate.
    TableEvent in TABLES_STREAM, keyed by TableId at table_subject => {
        Added(TableAdded) = "table-added" v 1,
        Removed(TableRemoved) = "table-removed" v 1,
        LockPlaced(TableLockPlaced) = "table-lock-placed" v 1,
        LockPlacementFailed(TableLockPlacementFailed) = "table-lock-placement-failed" v 1,
        LockRemoved(TableLockRemoved) = "table-lock-removed" v 1,
        CombinationAdded(TableCombinationAdded) = "table-combination-added" v 1,
        CombinationRemoved(TableCombinationRemoved) = "table-combination-removed" v 1,
    }
}

/// The id of the restaurant's one set of combinations: all of them are one aggregate, on
/// one subject, so an id is taken once and a table's removal reads them all at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct AllCombinations;

impl std::fmt::Display for AllCombinations {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("combinations")
    }
}

impl AggregateId for AllCombinations {
    type Event = TableEvent;

    fn subject(&self) -> String {
        COMBINATIONS_SUBJECT.to_owned()
    }
}

impl TableEvent {
    /// The table the event belongs to; `None` for the events of the combinations.
    pub fn table_id(&self) -> Option<&TableId> {
        match self {
            Self::Added(e) => Some(&e.id),
            Self::Removed(e) => Some(&e.id),
            Self::LockPlaced(e) => Some(&e.id),
            Self::LockPlacementFailed(e) => Some(&e.id),
            Self::LockRemoved(e) => Some(&e.id),
            Self::CombinationAdded(_) | Self::CombinationRemoved(_) => None,
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
