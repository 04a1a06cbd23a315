//! The booking representation of API.md.

use domain::Booking;
use events::read_model::BookingView;
use events::{BookingId, Customer, PartySize, RejectionReason, TableId, TimeSlot};
use jiff::Timestamp;
use serde_json::{Map, Value, json};

use crate::access::AccessCode;

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

/// An instant as API.md renders it: UTC with milliseconds, `2026-12-24T18:00:00.000Z`.
pub fn instant(at: Timestamp) -> String {
    format!("{at:.3}")
}

/// The booking as JSON; `None` for a booking that does not exist.
pub fn booking(state: &Booking, viewer: Viewer<'_>) -> Option<Value> {
    let request = state.request.as_ref()?;
    Some(render(
        &Fields {
            id: request.id,
            table_id: &request.table_id,
            time_slot: &request.time_slot,
            people: request.people,
            customer: request.customer.as_ref(),
            status: state.status?.name(),
            reason: state.rejection,
        },
        viewer,
    ))
}

/// A booking of the read model as JSON.
pub fn booking_view(view: &BookingView, viewer: Viewer<'_>) -> Value {
    render(
        &Fields {
            id: view.id,
            table_id: &view.table_id,
            time_slot: &view.time_slot,
            people: view.people,
            customer: view.customer.as_ref(),
            status: view.status.name(),
            reason: view.reason,
        },
        viewer,
    )
}

/// What the representation shows, wherever the booking comes from.
struct Fields<'a> {
    id: BookingId,
    table_id: &'a TableId,
    time_slot: &'a TimeSlot,
    people: Option<PartySize>,
    customer: Option<&'a Customer>,
    status: &'static str,
    reason: Option<RejectionReason>,
}

fn render(fields: &Fields<'_>, viewer: Viewer<'_>) -> Value {
    let mut body = Map::new();
    body.insert("id".into(), json!(fields.id.to_string()));
    body.insert("tableId".into(), json!(fields.table_id.as_str()));
    body.insert(
        "timeSlot".into(),
        json!({
            "from": instant(fields.time_slot.from()),
            "to": instant(fields.time_slot.to()),
        }),
    );
    if let Some(people) = fields.people {
        body.insert("people".into(), json!(people.get()));
    }
    body.insert("status".into(), json!(fields.status));
    if let Some(reason) = fields.reason {
        body.insert("reason".into(), json!(reason));
    }
    let may_see_customer = matches!(viewer, Viewer::Authorized | Viewer::Creator(_));
    if let (Some(customer), true) = (fields.customer, may_see_customer) {
        body.insert(
            "customer".into(),
            json!({"name": customer.name, "email": customer.email}),
        );
    }
    if let Viewer::Creator(code) = viewer {
        body.insert("accessCode".into(), json!(code.expose()));
    }
    Value::Object(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_are_rendered_in_utc_with_milliseconds() {
        let at: Timestamp = "2026-12-24T19:00:00+01:00".parse().expect("instant");
        assert_eq!(instant(at), "2026-12-24T18:00:00.000Z");
    }
}
