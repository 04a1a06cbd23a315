//! Events of the Booking aggregate (stream `BOOKINGS`, subject `bookings.<bookingId>`).

use serde::{Deserialize, Serialize};

use crate::codec::{DecodeError, event_family};
use crate::ids::{AccessCodeDigest, BookingId, CombinationId, PartySize, TableId};
use crate::names::{BOOKINGS_STREAM, booking_subject};
use crate::slot::TimeSlot;
use crate::table::LockFailureReason;

mod change;

pub use change::{
    BookingPlace, ChangeRejectionReason, Move, TableBookingChangeRejected,
    TableBookingChangeRequested, TableBookingChanged,
};

/// Who booked. Only shown to the admin or with the booking's access code.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Customer {
    pub name: String,
    pub email: String,
}

/// Why a booking was rejected.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RejectionReason {
    TableNotFound,
    TableRemoved,
    SlotTaken,
    TooSmall,
    /// No lock decision arrived within `BOOKING_TIMEOUT`.
    Timeout,
    /// Booked by party size: no single table and no combination can seat the party.
    NoTableAvailable,
}

impl RejectionReason {
    /// A refusal for want of a place (API.md v2): it says where the party fits instead.
    pub fn wants_a_place(self) -> bool {
        matches!(
            self,
            Self::SlotTaken | Self::TooSmall | Self::NoTableAvailable
        )
    }

    /// The name API.md uses (`reason` of a rejected booking).
    pub fn name(self) -> &'static str {
        match self {
            Self::TableNotFound => "table-not-found",
            Self::TableRemoved => "table-removed",
            Self::SlotTaken => "slot-taken",
            Self::TooSmall => "too-small",
            Self::Timeout => "timeout",
            Self::NoTableAvailable => "no-table-available",
        }
    }
}

impl From<LockFailureReason> for RejectionReason {
    fn from(reason: LockFailureReason) -> Self {
        match reason {
            LockFailureReason::TableNotFound => Self::TableNotFound,
            LockFailureReason::TableRemoved => Self::TableRemoved,
            LockFailureReason::SlotTaken => Self::SlotTaken,
            LockFailureReason::TooSmall => Self::TooSmall,
        }
    }
}

/// Where a booking stands: the one status type of the domain, the read model and the API
/// (`status` in API.md uses these names).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BookingStatus {
    /// Asked for; the lock is not decided yet.
    Initiated,
    Confirmed,
    Rejected,
    Cancelled,
}

impl BookingStatus {
    /// The name API.md uses.
    pub fn name(self) -> &'static str {
        match self {
            Self::Initiated => "initiated",
            Self::Confirmed => "confirmed",
            Self::Rejected => "rejected",
            Self::Cancelled => "cancelled",
        }
    }

    /// Whether the booking may still hold a table (a lock for it is legitimate).
    pub fn is_live(self) -> bool {
        matches!(self, Self::Initiated | Self::Confirmed)
    }
}

/// Who cancelled a booking.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CancellationCause {
    /// The customer, with the booking's access code.
    Customer,
    /// Staff, with the admin token.
    Admin,
}

/// `table-booking-initiated`: a customer asked for a table in a slot.
///
/// Schema v2 adds `unknownTable`: the gateway found that no table of this id was ever
/// added (from the `TABLES` stream's leader) and rejects the booking right after writing
/// it, so table-manager has nothing to decide (ADR 0020). v1 events have it `false`.
///
/// Schema v2 also keeps the customer only sealed (ADR 0024): `sealedCustomer` is the
/// customer encrypted with the booking's own key, which erasure deletes, and `emailDigest`
/// the keyed digest of the email that lookups find the booking by. `customer` in clear is
/// only in events written before.
///
/// Schema v3 books one table or several (ADR 0027): `tableIds` (sorted, one or more),
/// `combinationId` when they are a declared combination, `assigned` when the restaurant
/// picked them for the party. `tableId` stays, present exactly when one table is booked,
/// so a reader of the earlier shape still finds it. v1 and v2 are read with
/// `tableIds: [tableId]`.
///
/// Schema v4 adds `sealedAccessCode` (ADR 0031): the access code sealed with the
/// booking's data key, like the customer, so that the notifier can email it and nothing
/// can read it after erasure. Bookings without a customer have none; v1 to v3 have none.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TableBookingInitiated {
    pub id: BookingId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table_id: Option<TableId>,
    pub table_ids: Vec<TableId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub combination_id: Option<CombinationId>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub assigned: bool,
    pub time_slot: TimeSlot,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub people: Option<PartySize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer: Option<Customer>,
    pub access_code_digest: AccessCodeDigest,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unknown_table: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sealed_customer: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_digest: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sealed_access_code: Option<String>,
}

/// `tableId` as the events write it: the table when there is exactly one.
pub fn single(tables: &[TableId]) -> Option<TableId> {
    match tables {
        [one] => Some(one.clone()),
        _ => None,
    }
}

impl TableBookingInitiated {
    /// Whether `other` asks for the same thing (what the gateway found about the table,
    /// and how the customer and the code are kept, in clear, sealed or digested, aside): a
    /// retried request is the same request even if the table was added, the key rotated
    /// or the release changed since. (Its customer and code were compared by the
    /// Idempotency-Key's record.)
    ///
    /// Tables the restaurant picked (`assigned`) are its answer, not part of the request:
    /// a retry picks again and is still the same request.
    pub fn same_request(&self, other: &Self) -> bool {
        let picked = self.assigned && other.assigned;
        let place = if picked { other } else { self };
        Self {
            unknown_table: other.unknown_table,
            access_code_digest: other.access_code_digest.clone(),
            customer: other.customer.clone(),
            sealed_customer: other.sealed_customer.clone(),
            sealed_access_code: other.sealed_access_code.clone(),
            email_digest: other.email_digest.clone(),
            table_id: place.table_id.clone(),
            table_ids: place.table_ids.clone(),
            combination_id: place.combination_id.clone(),
            ..self.clone()
        } == *other
    }

    /// Why the gateway rejected the booking as it made it, if it did: a table that was
    /// never added (ADR 0020), or no table to give the party (ADR 0027: no tables).
    pub fn edge_rejection(&self) -> Option<RejectionReason> {
        if self.unknown_table {
            Some(RejectionReason::TableNotFound)
        } else if self.table_ids.is_empty() {
            Some(RejectionReason::NoTableAvailable)
        } else {
            None
        }
    }
}

/// `table-booking-confirmed`: the booking's tables are locked for it.
///
/// Schema v2 adds `tableIds` (all of them, sorted); `tableId` is present exactly when
/// there is one. v1 is read with `tableIds: [tableId]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TableBookingConfirmed {
    pub id: BookingId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table_id: Option<TableId>,
    pub table_ids: Vec<TableId>,
    pub time_slot: TimeSlot,
}

/// `table-booking-rejected`: the booking will never be confirmed.
///
/// Schema v2 adds the table and slot the booking asked for, so that whoever must release a
/// late lock (table-manager) needs nothing but this event; schema v3 all its tables
/// (`tableIds`; `tableId` when there is one). Events written as v1 have none (empty).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TableBookingRejected {
    pub id: BookingId,
    pub reason: RejectionReason,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table_id: Option<TableId>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub table_ids: Vec<TableId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_slot: Option<TimeSlot>,
}

/// `table-booking-cancelled`: a confirmed booking was given up.
///
/// Schema v2 adds the table and slot, v3 all the tables, as for [`TableBookingRejected`];
/// none in events written as v1.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TableBookingCancelled {
    pub id: BookingId,
    pub cause: CancellationCause,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table_id: Option<TableId>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub table_ids: Vec<TableId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_slot: Option<TimeSlot>,
}

/// `table-booking-reassigned`: the place the restaurant gave a party booking by size was
/// taken by another booking as it was being locked (a race another booker won); it is
/// given the next place that fits (ADR 0027). `tableIds` sorted; `tableId` when one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TableBookingReassigned {
    pub id: BookingId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table_id: Option<TableId>,
    pub table_ids: Vec<TableId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub combination_id: Option<CombinationId>,
    pub time_slot: TimeSlot,
}

/// `table-booking-customer-erased`: the customer's personal data was erased (its key
/// deleted); the booking itself stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TableBookingCustomerErased {
    pub id: BookingId,
}

/// The tables and slot a rejected or cancelled booking held or asked for.
pub trait ReleasedLock {
    /// `None` for an event written before schema v2.
    fn lock(&self) -> Option<(&[TableId], TimeSlot)>;
}

impl ReleasedLock for TableBookingRejected {
    fn lock(&self) -> Option<(&[TableId], TimeSlot)> {
        (!self.table_ids.is_empty()).then_some((self.table_ids.as_slice(), self.time_slot?))
    }
}

impl ReleasedLock for TableBookingCancelled {
    fn lock(&self) -> Option<(&[TableId], TimeSlot)> {
        (!self.table_ids.is_empty()).then_some((self.table_ids.as_slice(), self.time_slot?))
    }
}

event_family! {
    /// Every event of the Booking aggregate.
    BookingEvent in BOOKINGS_STREAM, keyed by BookingId at booking_subject => {
        Initiated(TableBookingInitiated) = "table-booking-initiated" v 4,
        Confirmed(TableBookingConfirmed) = "table-booking-confirmed" v 2,
        Rejected(TableBookingRejected) = "table-booking-rejected" v 3,
        Cancelled(TableBookingCancelled) = "table-booking-cancelled" v 3,
        CustomerErased(TableBookingCustomerErased) = "table-booking-customer-erased" v 1,
        Reassigned(TableBookingReassigned) = "table-booking-reassigned" v 1,
        ChangeRequested(TableBookingChangeRequested) = "table-booking-change-requested" v 1,
        Changed(TableBookingChanged) = "table-booking-changed" v 1,
        ChangeRejected(TableBookingChangeRejected) = "table-booking-change-rejected" v 1,
    }
}

impl BookingEvent {
    /// The booking the event belongs to.
    pub fn booking_id(&self) -> BookingId {
        match self {
            Self::Initiated(e) => e.id,
            Self::Confirmed(e) => e.id,
            Self::Rejected(e) => e.id,
            Self::Cancelled(e) => e.id,
            Self::CustomerErased(e) => e.id,
            Self::Reassigned(e) => e.id,
            Self::ChangeRequested(e) => e.id,
            Self::Changed(e) => e.id,
            Self::ChangeRejected(e) => e.id,
        }
    }
}

/// Turns an older schema version into the current one.
///
/// - `table-booking-initiated` v1 is v2 without `unknownTable` (the table was left to
///   table-manager); v1 and v2 book the one table `tableId`: v3 with `tableIds: [tableId]`;
///   v3 is v4 without `sealedAccessCode`.
/// - `table-booking-confirmed` v1: v2 with `tableIds: [tableId]`.
/// - `table-booking-rejected` and `-cancelled` v1 (`{id, reason}`, `{id, cause}`) are v3
///   without tables or slot: the event says it does not know its lock (see
///   [`ReleasedLock`]); v2 carries `tableId`, read as `tableIds: [tableId]`.
fn upcast(
    event_type: &str,
    version: u32,
    mut old: serde_json::Value,
) -> Result<serde_json::Value, DecodeError> {
    match (event_type, version) {
        (
            "table-booking-initiated" | "table-booking-rejected" | "table-booking-cancelled",
            1 | 2,
        )
        | ("table-booking-confirmed", 1) => {
            with_table_ids(&mut old);
            Ok(old)
        }
        // v4 only adds `sealedAccessCode`, which v3 never has.
        ("table-booking-initiated", 3) => Ok(old),
        _ => Err(DecodeError::UnsupportedSchemaVersion {
            event_type: event_type.to_owned(),
            version,
        }),
    }
}

/// Adds `tableIds: [tableId]` to a payload that has a `tableId` (and none otherwise).
fn with_table_ids(payload: &mut serde_json::Value) {
    if let Some(object) = payload.as_object_mut()
        && let Some(table) = object.get("tableId").cloned()
    {
        object.insert("tableIds".to_owned(), serde_json::Value::Array(vec![table]));
    }
}
