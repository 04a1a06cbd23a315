//! Events of the Booking aggregate (stream `BOOKINGS`, subject `bookings.<bookingId>`).

use serde::{Deserialize, Serialize};

use crate::codec::{DecodeError, event_family};
use crate::ids::{AccessCodeDigest, BookingId, PartySize, TableId};
use crate::names::{BOOKINGS_STREAM, booking_subject};
use crate::slot::TimeSlot;
use crate::table::LockFailureReason;

/// Who booked. Only shown to the admin or with the booking's access code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Customer {
    pub name: String,
    pub email: String,
}

/// Why a booking was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RejectionReason {
    TableNotFound,
    TableRemoved,
    SlotTaken,
    TooSmall,
    /// No lock decision arrived within `BOOKING_TIMEOUT`.
    Timeout,
}

impl RejectionReason {
    /// The name API.md uses (`reason` of a rejected booking).
    pub fn name(self) -> &'static str {
        match self {
            Self::TableNotFound => "table-not-found",
            Self::TableRemoved => "table-removed",
            Self::SlotTaken => "slot-taken",
            Self::TooSmall => "too-small",
            Self::Timeout => "timeout",
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TableBookingInitiated {
    pub id: BookingId,
    pub table_id: TableId,
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
}

impl TableBookingInitiated {
    /// Whether `other` asks for the same thing (what the gateway found about the table,
    /// and how the customer and the code are kept, in clear, sealed or digested, aside): a
    /// retried request is the same request even if the table was added, the key rotated
    /// or the release changed since. (Its customer and code were compared by the
    /// Idempotency-Key's record.)
    pub fn same_request(&self, other: &Self) -> bool {
        Self {
            unknown_table: other.unknown_table,
            access_code_digest: other.access_code_digest.clone(),
            customer: other.customer.clone(),
            sealed_customer: other.sealed_customer.clone(),
            email_digest: other.email_digest.clone(),
            ..self.clone()
        } == *other
    }
}

/// `table-booking-confirmed`: the table is locked for the booking.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TableBookingConfirmed {
    pub id: BookingId,
    pub table_id: TableId,
    pub time_slot: TimeSlot,
}

/// `table-booking-rejected`: the booking will never be confirmed.
///
/// Schema v2 adds the table and slot the booking asked for, so that whoever must release a
/// late lock (table-manager) needs nothing but this event. Events written as v1 have
/// neither (`None`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TableBookingRejected {
    pub id: BookingId,
    pub reason: RejectionReason,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table_id: Option<TableId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_slot: Option<TimeSlot>,
}

/// `table-booking-cancelled`: a confirmed booking was given up.
///
/// Schema v2 adds the table and slot, as for [`TableBookingRejected`]; `None` in events
/// written as v1.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TableBookingCancelled {
    pub id: BookingId,
    pub cause: CancellationCause,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table_id: Option<TableId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_slot: Option<TimeSlot>,
}

/// `table-booking-customer-erased`: the customer's personal data was erased (its key
/// deleted); the booking itself stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TableBookingCustomerErased {
    pub id: BookingId,
}

/// The table and slot a rejected or cancelled booking held or asked for.
pub trait ReleasedLock {
    /// `None` for an event written before schema v2.
    fn lock(&self) -> Option<(&TableId, TimeSlot)>;
}

impl ReleasedLock for TableBookingRejected {
    fn lock(&self) -> Option<(&TableId, TimeSlot)> {
        Some((self.table_id.as_ref()?, self.time_slot?))
    }
}

impl ReleasedLock for TableBookingCancelled {
    fn lock(&self) -> Option<(&TableId, TimeSlot)> {
        Some((self.table_id.as_ref()?, self.time_slot?))
    }
}

event_family! {
    /// Every event of the Booking aggregate.
    BookingEvent in BOOKINGS_STREAM, keyed by BookingId at booking_subject => {
        Initiated(TableBookingInitiated) = "table-booking-initiated" v 2,
        Confirmed(TableBookingConfirmed) = "table-booking-confirmed" v 1,
        Rejected(TableBookingRejected) = "table-booking-rejected" v 2,
        Cancelled(TableBookingCancelled) = "table-booking-cancelled" v 2,
        CustomerErased(TableBookingCustomerErased) = "table-booking-customer-erased" v 1,
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
        }
    }
}

/// Turns an older schema version into the current one.
///
/// `table-booking-rejected` and `-cancelled` v1 (`{id, reason}`, `{id, cause}`) are v2
/// without the optional `tableId` and `timeSlot`: the payload is kept as it is, and the
/// event says it does not know its lock (see [`ReleasedLock`]). `table-booking-initiated`
/// v1 is v2 without `unknownTable` (the table was left to table-manager).
fn upcast(
    event_type: &str,
    version: u32,
    old: serde_json::Value,
) -> Result<serde_json::Value, DecodeError> {
    match (event_type, version) {
        ("table-booking-rejected" | "table-booking-cancelled" | "table-booking-initiated", 1) => {
            Ok(old)
        }
        _ => Err(DecodeError::UnsupportedSchemaVersion {
            event_type: event_type.to_owned(),
            version,
        }),
    }
}
