//! Changing a booking (ADR 0029): the places a booking moves between and the events of a
//! change.

use serde::{Deserialize, Serialize};

use crate::ids::{BookingId, CombinationId, PartySize, TableId};
use crate::slot::TimeSlot;
use crate::table::{LockFailureReason, Revision};

/// Where a booking is: its slot, its tables (sorted) and its party. A change moves a
/// booking from one place to another.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BookingPlace {
    pub time_slot: TimeSlot,
    pub table_ids: Vec<TableId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub combination_id: Option<CombinationId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub people: Option<PartySize>,
}

/// What moving a booking from one place to another does to its tables (ADR 0029).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Move {
    /// Held before and after: the same tables in the same slot.
    pub kept: Vec<TableId>,
    /// To lock in the new slot before the move takes effect.
    pub to_lock: Vec<TableId>,
    /// To release in the old slot once it has.
    pub to_release: Vec<TableId>,
}

impl BookingPlace {
    /// What moving from `self` to `to` does to the tables.
    pub fn move_to(&self, to: &BookingPlace) -> Move {
        let same_slot = self.time_slot == to.time_slot;
        let kept =
            |t: &&TableId| same_slot && self.table_ids.contains(t) && to.table_ids.contains(t);
        let mut to_lock: Vec<TableId> = to.table_ids.iter().filter(|t| !kept(t)).cloned().collect();
        let mut to_release: Vec<TableId> = self
            .table_ids
            .iter()
            .filter(|t| !kept(t))
            .cloned()
            .collect();
        let mut kept: Vec<TableId> = to.table_ids.iter().filter(kept).cloned().collect();
        for tables in [&mut to_lock, &mut to_release, &mut kept] {
            tables.sort();
            tables.dedup();
        }
        Move {
            kept,
            to_lock,
            to_release,
        }
    }
}

/// Why a change of a booking did not take effect.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ChangeRejectionReason {
    TableNotFound,
    TableRemoved,
    SlotTaken,
    TooSmall,
    /// No lock decision arrived within `BOOKING_TIMEOUT`: rolled back.
    Timeout,
    /// The booking was cancelled while its change was pending.
    Cancelled,
}

impl ChangeRejectionReason {
    /// The name API.md uses (`reason` of a 409 to a change).
    pub fn name(self) -> &'static str {
        match self {
            Self::TableNotFound => "table-not-found",
            Self::TableRemoved => "table-removed",
            Self::SlotTaken => "slot-taken",
            Self::TooSmall => "too-small",
            Self::Timeout => "timeout",
            Self::Cancelled => "cancelled",
        }
    }
}

impl From<LockFailureReason> for ChangeRejectionReason {
    fn from(reason: LockFailureReason) -> Self {
        match reason {
            LockFailureReason::TableNotFound => Self::TableNotFound,
            LockFailureReason::TableRemoved => Self::TableRemoved,
            LockFailureReason::SlotTaken => Self::SlotTaken,
            LockFailureReason::TooSmall => Self::TooSmall,
        }
    }
}

/// `table-booking-change-requested`: the guest or staff asked to move a confirmed booking
/// from `from` to `to`; its `revision`-th change (1, 2, ...). The tables of `to` that it
/// does not hold already are locked for it, all or nothing, before anything is released
/// (ADR 0029). `assigned` when the restaurant picked the new tables.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TableBookingChangeRequested {
    pub id: BookingId,
    pub revision: Revision,
    pub from: BookingPlace,
    pub to: BookingPlace,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub assigned: bool,
}

/// `table-booking-changed`: every new table is locked; the booking is at `to` now, and
/// the tables of `from` it no longer needs are released.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TableBookingChanged {
    pub id: BookingId,
    pub revision: Revision,
    pub from: BookingPlace,
    pub to: BookingPlace,
}

/// `table-booking-change-rejected`: the change did not take effect; the booking stays at
/// `from`, and whatever was locked for `to` is released.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TableBookingChangeRejected {
    pub id: BookingId,
    pub revision: Revision,
    pub reason: ChangeRejectionReason,
    pub from: BookingPlace,
    pub to: BookingPlace,
}
