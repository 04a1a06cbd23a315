//! Events of the Booking aggregate (stream `BOOKINGS`, subject `bookings.<bookingId>`).

use serde::{Deserialize, Serialize};

use crate::codec::{DecodeError, event_family};
use crate::ids::{AccessCodeDigest, BookingId, PartySize, TableId};
use crate::names::BOOKINGS_STREAM;
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TableBookingRejected {
    pub id: BookingId,
    pub reason: RejectionReason,
}

/// `table-booking-cancelled`: a confirmed booking was given up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TableBookingCancelled {
    pub id: BookingId,
    pub cause: CancellationCause,
}

event_family! {
    /// Every event of the Booking aggregate.
    BookingEvent in BOOKINGS_STREAM => {
        Initiated(TableBookingInitiated) = "table-booking-initiated" v 1,
        Confirmed(TableBookingConfirmed) = "table-booking-confirmed" v 1,
        Rejected(TableBookingRejected) = "table-booking-rejected" v 1,
        Cancelled(TableBookingCancelled) = "table-booking-cancelled" v 1,
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
        }
    }
}

/// Turns an older schema version into the current one. No booking event has an older
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
