//! The response bodies of API.md as serde types: what the contract shows, built from
//! domain values, never by hand.

use domain::Booking;
use events::read_model::BookingView;
use events::{
    BookingId, BookingPlace, BookingStatus, CombinationId, Customer, PartySize, RejectionReason,
    TableId, TimeSlot,
};
use jiff::Timestamp;
use serde::{Serialize, Serializer};
use utoipa::ToSchema;

use crate::edge::access::AccessCode;

/// An instant as API.md renders it: UTC with milliseconds, `2026-12-24T18:00:00.000Z`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ToSchema)]
#[schema(value_type = String, format = DateTime, example = "2026-12-24T18:00:00.000Z")]
pub struct Instant(pub Timestamp);

impl Serialize for Instant {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&format_args!("{:.3}", self.0))
    }
}

/// `{"from", "to"}`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TimeSlotBody {
    pub from: Instant,
    pub to: Instant,
}

impl From<TimeSlot> for TimeSlotBody {
    fn from(slot: TimeSlot) -> Self {
        Self {
            from: Instant(slot.from()),
            to: Instant(slot.to()),
        }
    }
}

/// A table: `{"id", "seats"}` (`POST /tables`, `GET /tables`).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TableBody {
    pub id: TableId,
    pub seats: u8,
}

/// `GET /tables`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TablesBody {
    pub tables: Vec<TableBody>,
}

/// `DELETE /tables/{id}`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RemovedTableBody {
    pub id: TableId,
}

/// A combination of tables (`POST /table-combinations`, an entry of the list).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CombinationBody {
    pub id: CombinationId,
    /// Sorted.
    pub tables: Vec<TableId>,
    pub seats: u8,
}

/// `GET /table-combinations`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CombinationsBody {
    pub combinations: Vec<CombinationBody>,
}

/// `DELETE /table-combinations/{id}`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RemovedCombinationBody {
    pub id: CombinationId,
}

/// Somewhere else the party fits (an entry of `alternatives` in a 409).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AlternativeBody {
    pub time_slot: TimeSlotBody,
    /// Sorted.
    pub table_ids: Vec<TableId>,
}

impl From<crate::seating::availability::Alternative> for AlternativeBody {
    fn from(alternative: crate::seating::availability::Alternative) -> Self {
        Self {
            time_slot: alternative.slot.into(),
            table_ids: alternative.tables,
        }
    }
}

/// Who is looking at a booking, which decides what they may see.
#[derive(Debug, Clone, Copy)]
pub enum Viewer<'a> {
    /// Anyone: no customer details, no access code.
    Public,
    /// The admin token or the booking's access code: customer details too.
    Authorized,
    /// The request that created the booking, or a lookup with the right code: everything.
    Creator(&'a AccessCode),
}

/// The booking representation of API.md (also the 201/202 body of `POST /bookings`).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BookingBody {
    pub id: BookingId,
    /// Present only when the booking holds exactly one table (API.md v2).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub table_id: Option<TableId>,
    /// Every table of the booking, sorted.
    pub table_ids: Vec<TableId>,
    pub time_slot: TimeSlotBody,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub people: Option<PartySize>,
    pub status: BookingStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<RejectionReason>,
    /// Left out for the public and for bookings without one; `null` once erased.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Customer>)]
    pub customer: Option<Option<Customer>>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub customer_erased: bool,
    /// Only in the answer that created the booking and in `lookup`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "K7QX2")]
    pub access_code: Option<String>,
    /// Where a change not decided yet moves the booking (API.md v2).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pending_change: Option<PendingChangeBody>,
}

/// `pendingChange`: the slot, tables and party a change being decided asks for.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PendingChangeBody {
    pub time_slot: TimeSlotBody,
    /// Sorted.
    pub table_ids: Vec<TableId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub people: Option<PartySize>,
}

impl From<&BookingPlace> for PendingChangeBody {
    fn from(place: &BookingPlace) -> Self {
        Self {
            time_slot: place.time_slot.into(),
            table_ids: place.table_ids.clone(),
            people: place.people,
        }
    }
}

impl BookingBody {
    /// A booking of the write side with its `customer` (unsealed by the caller); `None`
    /// for a booking that does not exist.
    pub fn of_booking(
        state: &Booking,
        viewer: Viewer<'_>,
        customer: Option<Customer>,
    ) -> Option<Self> {
        let request = state.request.as_ref()?;
        Some(Self::shown(
            Self {
                id: request.id,
                table_id: events::single(&state.tables),
                table_ids: state.tables.clone(),
                time_slot: state.time_slot.unwrap_or(request.time_slot).into(),
                people: state.people,
                status: state.status?,
                reason: state.rejection,
                customer: shown_customer(customer, state.customer_erased),
                customer_erased: state.customer_erased,
                access_code: None,
                pending_change: state.pending_change.as_ref().map(|c| (&c.to).into()),
            },
            viewer,
        ))
    }

    /// A booking of the read model with its `customer` (unsealed by the caller).
    pub fn of_view(view: &BookingView, viewer: Viewer<'_>, customer: Option<Customer>) -> Self {
        Self::shown(
            Self {
                id: view.id,
                table_id: events::single(&view.tables()),
                table_ids: view.tables(),
                time_slot: view.time_slot.into(),
                people: view.people,
                status: view.status,
                reason: view.reason,
                customer: shown_customer(customer, view.customer_erased),
                customer_erased: view.customer_erased,
                access_code: None,
                pending_change: view.pending_change.as_ref().map(Into::into),
            },
            viewer,
        )
    }

    /// Leaves out what `viewer` may not see.
    fn shown(mut self, viewer: Viewer<'_>) -> Self {
        match viewer {
            Viewer::Public => {
                self.customer = None;
                self.customer_erased = false;
            }
            Viewer::Authorized => {}
            Viewer::Creator(code) => self.access_code = Some(code.expose().to_owned()),
        }
        self
    }
}

/// `null` for an erased customer, left out when there is none.
fn shown_customer(customer: Option<Customer>, erased: bool) -> Option<Option<Customer>> {
    if erased {
        Some(None)
    } else {
        customer.map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_are_rendered_in_utc_with_milliseconds() {
        let at: Timestamp = "2026-12-24T19:00:00+01:00".parse().expect("instant");
        assert_eq!(
            serde_json::to_value(Instant(at)).expect("json"),
            "2026-12-24T18:00:00.000Z"
        );
    }
}
