//! The booking representation of API.md.

use domain::{Booking, BookingStatus};
use jiff::Timestamp;
use serde_json::{Value, json};

use crate::access::AccessCode;

/// Who is looking at a booking, which decides what they may see.
#[derive(Debug, Clone, Copy)]
pub enum Viewer<'a> {
    /// Anyone: no customer details, no access code.
    #[expect(
        dead_code,
        reason = "the read routes come with the projector (issue 4)"
    )]
    Public,
    /// The admin token or the booking's access code: customer details too.
    Authorized,
    /// The request that created the booking: everything, once.
    Creator(&'a AccessCode),
}

/// An instant as API.md renders it: UTC with milliseconds, `2026-12-24T18:00:00.000Z`.
pub fn instant(at: Timestamp) -> String {
    format!("{at:.3}")
}

pub fn status_name(status: BookingStatus) -> &'static str {
    match status {
        BookingStatus::New | BookingStatus::Initiated => "initiated",
        BookingStatus::Confirmed => "confirmed",
        BookingStatus::Rejected => "rejected",
        BookingStatus::Cancelled => "cancelled",
    }
}

/// The booking as JSON; `None` for a booking that does not exist.
pub fn booking(state: &Booking, viewer: Viewer<'_>) -> Option<Value> {
    let request = state.request.as_ref()?;
    let mut body = json!({
        "id": request.id.to_string(),
        "tableId": request.table_id.as_str(),
        "timeSlot": {
            "from": instant(request.time_slot.from()),
            "to": instant(request.time_slot.to()),
        },
        "status": status_name(state.status),
    });
    let map = body.as_object_mut()?;
    if let Some(people) = request.people {
        map.insert("people".into(), json!(people.get()));
    }
    if let Some(reason) = state.rejection {
        map.insert("reason".into(), serde_json::to_value(reason).ok()?);
    }
    let may_see_customer = matches!(viewer, Viewer::Authorized | Viewer::Creator(_));
    if let (Some(customer), true) = (&request.customer, may_see_customer) {
        map.insert(
            "customer".into(),
            json!({"name": customer.name, "email": customer.email}),
        );
    }
    if let Viewer::Creator(code) = viewer {
        map.insert("accessCode".into(), json!(code.expose()));
    }
    Some(body)
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
