//! The body of `POST /bookings`, parsed into a valid [`BookingRequest`] (the book use
//! case's input) or a 400 that names every bad field.

use events::{Customer, PartySize, TimeSlot};
use jiff::Timestamp;
use serde::Deserialize;

use super::error::ApiError;
use super::fields::{Errors, Field, Object, Whole, table_id, text};
use crate::seating::rules::SlotRules;
pub use crate::use_cases::book::BookingRequest;

/// Longest accepted customer name and email, in characters.
pub const MAX_NAME: usize = 200;
pub const MAX_EMAIL: usize = 254;

/// The body of `POST /bookings`: a table, or a party size (then the restaurant picks).
#[derive(Debug, Default, Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct BookingRequestBody {
    /// The table; without it, `people` is required and the restaurant picks.
    #[schema(value_type = Option<events::TableId>)]
    pub table_id: Field<String>,
    #[schema(value_type = TimeSlotRequest, required = true)]
    pub time_slot: Field<Object<TimeSlotRequest>>,
    #[schema(value_type = Option<events::PartySize>)]
    pub people: Field<Whole>,
    #[schema(value_type = Option<CustomerRequest>)]
    pub customer: Field<Object<CustomerRequest>>,
}

/// One configured slot of one local day, as RFC 3339 instants.
#[derive(Debug, Default, Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(default)]
pub struct TimeSlotRequest {
    #[schema(value_type = String, format = DateTime, required = true, example = "2026-12-24T18:00:00Z")]
    pub from: Field<String>,
    #[schema(value_type = String, format = DateTime, required = true, example = "2026-12-24T20:00:00Z")]
    pub to: Field<String>,
}

#[derive(Debug, Default, Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(default)]
pub struct CustomerRequest {
    #[schema(value_type = String, required = true, min_length = 1, max_length = 200, example = "Ada Lovelace")]
    pub name: Field<String>,
    #[schema(value_type = String, required = true, min_length = 1, max_length = 254, example = "ada@example.com")]
    pub email: Field<String>,
}

impl BookingRequestBody {
    /// Checks every field, and the slot against `rules` at `now`.
    pub fn parse(self, rules: &SlotRules, now: Timestamp) -> Result<BookingRequest, ApiError> {
        const PEOPLE_RULE: &str = "must be an integer from 1 to 50";
        let mut errors = Errors::default();
        // Without a table, the restaurant picks one for the party: `people` is needed.
        let by_party = self.table_id == Field::Absent;
        let table_id = if by_party {
            if self.people == Field::Absent {
                // Neither: either would do, so both are named.
                errors.add("tableId", "is required unless people is given");
            }
            Some(None)
        } else {
            table_id(&mut errors, "tableId", self.table_id).map(Some)
        };
        let time_slot = match self.time_slot {
            Field::Absent => {
                errors.add("timeSlot", "is required");
                None
            }
            Field::Invalid => {
                errors.add("timeSlot", "must be an object with from and to");
                None
            }
            Field::Present(Object(slot)) => slot.parse(&mut errors, rules, now),
        };
        let people = if by_party {
            let missing = "is required when tableId is left out";
            errors
                .required("people", self.people, missing, PEOPLE_RULE, |Whole(n)| {
                    PartySize::new(n).map_err(|_| PEOPLE_RULE.to_owned())
                })
                .map(Some)
        } else {
            errors.optional("people", self.people, PEOPLE_RULE, |Whole(n)| {
                PartySize::new(n).map_err(|_| PEOPLE_RULE.to_owned())
            })
        };
        let customer = match self.customer {
            Field::Absent => Some(None),
            Field::Invalid => {
                errors.add("customer", "must be an object with name and email");
                None
            }
            Field::Present(Object(customer)) => customer.parse(&mut errors).map(Some),
        };
        errors.finish(|| {
            Some(BookingRequest {
                table_id: table_id?,
                time_slot: time_slot?,
                people: people?,
                customer: customer?,
            })
        })
    }
}

impl TimeSlotRequest {
    pub(super) fn parse(
        self,
        errors: &mut Errors,
        rules: &SlotRules,
        now: Timestamp,
    ) -> Option<TimeSlot> {
        let mut instant = |name: &str, field: Field<String>| {
            errors.required(
                name,
                field,
                "is required",
                "must be an RFC 3339 date-time string",
                |raw| {
                    raw.parse::<Timestamp>()
                        .map_err(|_| "not a valid RFC 3339 date-time".to_owned())
                },
            )
        };
        let from = instant("timeSlot.from", self.from);
        let to = instant("timeSlot.to", self.to);
        let Ok(slot) = TimeSlot::new(from?, to?) else {
            errors.add("timeSlot", "from must be before to");
            return None;
        };
        rules
            .check(slot, now)
            .map_err(|(field, message)| errors.add(field, message))
            .ok()
    }
}

impl CustomerRequest {
    fn parse(self, errors: &mut Errors) -> Option<Customer> {
        let mut field = |name: &str, value: Field<String>, max: usize| {
            errors.required(name, value, "is required", "must be a string", |raw| {
                text(&raw, max)
            })
        };
        let name = field("customer.name", self.name, MAX_NAME);
        let email = field("customer.email", self.email, MAX_EMAIL);
        let email = email.and_then(|email| {
            if is_plausible_email(&email) {
                Some(email)
            } else {
                errors.add("customer.email", "is not an email address");
                None
            }
        });
        Some(Customer {
            name: name?,
            email: email?,
        })
    }
}

/// `local@domain.tld` without blanks: what can be checked without sending a mail.
fn is_plausible_email(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !email.chars().any(char::is_whitespace)
}

#[cfg(test)]
mod tests {
    use domain::SlotSchedule;
    use jiff::tz::TimeZone;

    use events::TableId;

    use super::*;
    use crate::edge::idempotency::legacy_fingerprint;
    use crate::http::fields::json_body;
    use crate::http::testing::fields;

    fn rules() -> SlotRules {
        SlotRules {
            schedule: SlotSchedule::parse("12:00-14:00,19:00-21:00").expect("slots"),
            zone: TimeZone::get("Europe/Paris").expect("zone"),
            horizon_days: 90,
        }
    }

    /// SHA-256 of `{"customer":["Ada","ada@example.com"],"from":"2026-12-24T18:00:00Z",
    /// "people":4,"tableId":"t1","to":"2026-12-24T20:00:00Z"}`: the form the idempotency
    /// records of earlier releases hold (kept 24 h), computed outside Rust.
    const FINGERPRINT_OF_ADA: &str =
        "2b1d09d71d2b4e65bef6b46326f0fdbb901570a5178cc153cba7cd500c7466a1";

    fn now() -> Timestamp {
        "2026-12-01T10:00:00Z".parse().expect("now")
    }

    fn parse(body: &[u8], now: Timestamp) -> Result<BookingRequest, ApiError> {
        json_body::<BookingRequestBody>(body)?.parse(&rules(), now)
    }

    fn request(body: &serde_json::Value) -> Result<BookingRequest, ApiError> {
        parse(body.to_string().as_bytes(), now())
    }

    #[test]
    fn given_a_dinner_slot_in_winter_when_booking_then_it_is_accepted_in_utc() {
        let booking = request(&serde_json::json!({
            "tableId": "t1",
            "timeSlot": {"from": "2026-12-24T18:00:00.000Z", "to": "2026-12-24T20:00:00Z"},
            "people": 4,
            "customer": {"name": " Ada ", "email": "ada@example.com"}
        }))
        .expect("valid");
        assert_eq!(booking.table_id.as_ref().map(TableId::as_str), Some("t1"));
        assert_eq!(booking.people.map(PartySize::get), Some(4));
        assert_eq!(booking.customer.map(|c| c.name), Some("Ada".to_owned()));
    }

    #[test]
    fn given_no_table_when_booking_then_the_party_size_is_required_and_the_restaurant_picks() {
        let slot =
            serde_json::json!({"from": "2026-12-24T18:00:00Z", "to": "2026-12-24T20:00:00Z"});
        let booking = request(&serde_json::json!({"timeSlot": slot, "people": 6})).expect("valid");
        assert_eq!(booking.table_id, None);
        assert_eq!(booking.people.map(PartySize::get), Some(6));
        let neither = request(&serde_json::json!({"timeSlot": slot})).expect_err("invalid");
        assert_eq!(fields(neither), ["tableId", "people"]);
        let bad = request(&serde_json::json!({"timeSlot": slot, "people": 0})).expect_err("bad");
        assert_eq!(fields(bad), ["people"]);
    }

    #[test]
    fn given_summer_time_when_booking_the_winter_utc_hours_then_the_slot_is_refused() {
        // 19:00 in Paris in July is 17:00Z; 18:00Z is not a slot start then.
        let june = "2027-06-01T00:00:00Z".parse().expect("now");
        let summer = parse(
            br#"{"tableId":"t1","timeSlot":{"from":"2027-07-01T18:00:00Z","to":"2027-07-01T20:00:00Z"}}"#,
            june,
        );
        assert_eq!(fields(summer.expect_err("not a slot")), ["timeSlot"]);
        let right = parse(
            br#"{"tableId":"t1","timeSlot":{"from":"2027-07-01T17:00:00Z","to":"2027-07-01T19:00:00Z"}}"#,
            june,
        );
        assert!(right.is_ok());
    }

    #[test]
    fn given_several_bad_fields_when_booking_then_each_is_named() {
        let error = request(&serde_json::json!({
            "tableId": "no spaces",
            "timeSlot": {"from": "yesterday"},
            "people": 0,
            "customer": {"name": "", "email": "nope"}
        }))
        .expect_err("invalid");
        assert_eq!(
            fields(error),
            [
                "tableId",
                "timeSlot.from",
                "timeSlot.to",
                "people",
                "customer.name",
                "customer.email"
            ]
        );
    }

    #[test]
    fn given_fields_of_the_wrong_json_type_when_booking_then_each_is_named() {
        let error = request(&serde_json::json!({
            "tableId": 7,
            "timeSlot": "tonight",
            "people": "two",
            "customer": ["Ada"]
        }))
        .expect_err("invalid");
        assert_eq!(fields(error), ["tableId", "timeSlot", "people", "customer"]);
        let error = request(&serde_json::json!({
            "tableId": "t1",
            "timeSlot": {"from": 1, "to": null},
            "customer": {"name": 5}
        }))
        .expect_err("invalid");
        assert_eq!(
            fields(error),
            [
                "timeSlot.from",
                "timeSlot.to",
                "customer.name",
                "customer.email"
            ]
        );
    }

    #[test]
    fn given_a_past_or_too_distant_slot_when_booking_then_timeslot_from_is_named() {
        let past = request(&serde_json::json!({"tableId": "t1",
            "timeSlot": {"from": "2026-11-30T11:00:00Z", "to": "2026-11-30T13:00:00Z"}}));
        assert_eq!(fields(past.expect_err("past")), ["timeSlot.from"]);
        let far = request(&serde_json::json!({"tableId": "t1",
            "timeSlot": {"from": "2027-06-01T10:00:00Z", "to": "2027-06-01T12:00:00Z"}}));
        assert_eq!(fields(far.expect_err("beyond horizon")), ["timeSlot.from"]);
    }

    #[test]
    fn the_legacy_fingerprint_of_a_request_is_the_one_earlier_releases_stored() {
        let ada = request(&serde_json::json!({
            "tableId": "t1",
            "timeSlot": {"from": "2026-12-24T18:00:00Z", "to": "2026-12-24T20:00:00Z"},
            "people": 4,
            "customer": {"name": "Ada", "email": "ada@example.com"}
        }))
        .expect("valid");
        assert_eq!(legacy_fingerprint(&ada.canonical()), FINGERPRINT_OF_ADA);
        let mut other = ada.clone();
        other.people = None;
        assert_ne!(
            legacy_fingerprint(&other.canonical()),
            legacy_fingerprint(&ada.canonical())
        );
    }

    #[test]
    fn given_malformed_json_or_a_non_object_then_the_body_is_named() {
        for body in [&b"{"[..], b"[]", b"", b"null"] {
            let error = parse(body, now()).expect_err("invalid");
            assert_eq!(fields(error), ["body"]);
        }
    }
}
