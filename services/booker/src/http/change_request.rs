//! The body of `POST /bookings/{id}/change`, parsed into a valid [`ChangeRequest`] or a
//! 400 that names every bad field.

use events::{PartySize, TableId};
use jiff::Timestamp;
use serde::Deserialize;

use super::booking_request::TimeSlotRequest;
use super::error::ApiError;
use super::fields::{Errors, Field, Object, TABLE_ID_RULE, Whole};
use crate::seating::rules::SlotRules;
pub use crate::use_cases::change::ChangeRequest;

/// The body of `POST /bookings/{id}/change`.
#[derive(Debug, Default, Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct ChangeRequestBody {
    /// The booking's access code (or the `X-Access-Code` header, or the admin token);
    /// read by the caller's extractor.
    #[schema(value_type = Option<String>, example = "K7QX2")]
    pub access_code: Field<String>,
    #[schema(value_type = Option<TimeSlotRequest>)]
    pub time_slot: Field<Object<TimeSlotRequest>>,
    #[schema(value_type = Option<events::PartySize>)]
    pub people: Field<Whole>,
    #[schema(value_type = Option<events::TableId>)]
    pub table_id: Field<String>,
}

impl ChangeRequestBody {
    /// Checks every field, and the slot against `rules` at `now`.
    pub fn parse(self, rules: &SlotRules, now: Timestamp) -> Result<ChangeRequest, ApiError> {
        const PEOPLE_RULE: &str = "must be an integer from 1 to 50";
        let mut errors = Errors::default();
        let nothing = [
            matches!(self.time_slot, Field::Absent),
            self.people == Field::Absent,
            self.table_id == Field::Absent,
        ];
        if nothing.iter().all(|absent| *absent) {
            // Any of them would do, so all are named.
            for name in ["timeSlot", "people", "tableId"] {
                errors.add(
                    name,
                    "at least one of timeSlot, people and tableId is required",
                );
            }
        }
        let time_slot = match self.time_slot {
            Field::Absent => Some(None),
            Field::Invalid => {
                errors.add("timeSlot", "must be an object with from and to");
                None
            }
            Field::Present(Object(slot)) => slot.parse(&mut errors, rules, now).map(Some),
        };
        let people = errors.optional("people", self.people, PEOPLE_RULE, |Whole(n)| {
            PartySize::new(n).map_err(|_| PEOPLE_RULE.to_owned())
        });
        let table_id = errors.optional("tableId", self.table_id, "must be a string", |raw| {
            TableId::parse(&raw).map_err(|_| TABLE_ID_RULE.to_owned())
        });
        errors.finish(|| {
            Some(ChangeRequest {
                time_slot: time_slot?,
                people: people?,
                table_id: table_id?,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use jiff::tz::TimeZone;
    use serde_json::json;

    use super::*;
    use crate::http::fields::json_body;
    use crate::http::testing::fields;
    use domain::SlotSchedule;

    fn parse(body: &serde_json::Value) -> Result<ChangeRequest, ApiError> {
        let rules = SlotRules {
            schedule: SlotSchedule::parse("12:00-14:00,19:00-21:00").expect("slots"),
            zone: TimeZone::get("Europe/Paris").expect("zone"),
            horizon_days: 90,
        };
        let now = "2026-12-01T10:00:00Z".parse().expect("now");
        json_body::<ChangeRequestBody>(body.to_string().as_bytes())?.parse(&rules, now)
    }

    #[test]
    fn a_change_names_a_slot_a_party_or_a_table_and_leaves_the_rest_as_booked() {
        let lunch = json!({"from": "2026-12-24T11:00:00Z", "to": "2026-12-24T13:00:00Z"});
        let change = parse(&json!({"timeSlot": lunch, "accessCode": "K7QX2"})).expect("valid");
        assert!(change.time_slot.is_some());
        assert_eq!((change.people, change.table_id), (None, None));
        let change = parse(&json!({"people": 6})).expect("valid");
        assert_eq!(change.people.map(PartySize::get), Some(6));
        let change = parse(&json!({"tableId": "t3"})).expect("valid");
        assert_eq!(change.table_id.as_ref().map(TableId::as_str), Some("t3"));
    }

    #[test]
    fn a_change_of_nothing_or_of_bad_values_names_each_field() {
        let nothing = parse(&json!({"accessCode": "K7QX2"})).expect_err("nothing");
        assert_eq!(fields(nothing), ["timeSlot", "people", "tableId"]);
        let not_a_slot = json!({"from": "2026-12-24T12:00:00Z", "to": "2026-12-24T13:00:00Z"});
        let bad = parse(&json!({"timeSlot": not_a_slot, "people": 0, "tableId": "t 1"}))
            .expect_err("bad");
        let named = fields(bad);
        assert!(named.iter().any(|f| f.starts_with("timeSlot")), "{named:?}");
        assert!(named.contains(&"people".to_owned()), "{named:?}");
        assert!(named.contains(&"tableId".to_owned()), "{named:?}");
    }
}
