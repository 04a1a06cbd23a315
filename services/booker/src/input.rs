//! Validation at the edge: request bodies and parameters become domain values, or a 400
//! that names every bad field. Nothing past this module sees unchecked input.

use domain::SlotSchedule;
use events::{Customer, PartySize, Seats, TableId, TimeSlot};
use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use serde_json::{Map, Value};

use crate::problem::{ApiError, FieldError};

/// Longest accepted customer name and email, in characters.
const MAX_NAME: usize = 200;
const MAX_EMAIL: usize = 254;

const TABLE_ID_RULE: &str = "must match ^[A-Za-z0-9_-]{1,64}$";

/// A table id from the path, named `id` when invalid.
pub fn table_id_param(raw: &str) -> Result<TableId, ApiError> {
    TableId::parse(raw).map_err(|_| ApiError::field("id", TABLE_ID_RULE))
}

/// What a valid `timeSlot` must be: one configured slot, in the future, within the horizon.
#[derive(Debug, Clone)]
pub struct SlotRules {
    pub schedule: SlotSchedule,
    pub zone: TimeZone,
    pub horizon_days: u16,
}

/// A validated booking request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookingRequest {
    pub table_id: TableId,
    pub time_slot: TimeSlot,
    pub people: Option<PartySize>,
    pub customer: Option<Customer>,
}

/// A validated `POST /tables` body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTable {
    pub id: TableId,
    pub seats: Seats,
}

/// Collects the errors of one request, so that all bad fields are named at once.
#[derive(Debug, Default)]
struct Errors(Vec<FieldError>);

impl Errors {
    fn add(&mut self, field: &str, message: impl Into<String>) {
        self.0.push(FieldError::new(field, message));
    }

    fn finish<T>(self, value: impl FnOnce() -> Option<T>) -> Result<T, ApiError> {
        match (self.0.is_empty(), value()) {
            (true, Some(value)) => Ok(value),
            // Every `None` above comes with an error; an empty list would be a bug here.
            (true, None) => Err(ApiError::field("body", "is invalid")),
            (false, _) => Err(ApiError::BadRequest(self.0)),
        }
    }
}

/// The body as a JSON object.
pub fn json_object(body: &[u8]) -> Result<Map<String, Value>, ApiError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(ApiError::field("body", "must be a JSON object")),
        Err(e) => Err(ApiError::field("body", &format!("is not valid JSON ({e})"))),
    }
}

fn present<'a>(map: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    map.get(key).filter(|v| !v.is_null())
}

fn table_id(map: &Map<String, Value>, key: &str, errors: &mut Errors) -> Option<TableId> {
    match present(map, key) {
        None => errors.add(key, "is required"),
        Some(Value::String(raw)) => match TableId::parse(raw) {
            Ok(id) => return Some(id),
            Err(_) => errors.add(key, TABLE_ID_RULE),
        },
        Some(_) => errors.add(key, "must be a string"),
    }
    None
}

fn small_count<T>(
    map: &Map<String, Value>,
    key: &str,
    errors: &mut Errors,
    make: impl Fn(u64) -> Result<T, events::InvalidId>,
) -> Option<T> {
    let value = present(map, key)?;
    match value.as_u64().map(&make) {
        Some(Ok(value)) => Some(value),
        _ => {
            errors.add(key, "must be an integer from 1 to 50");
            None
        }
    }
}

/// Parses a `POST /tables` body.
pub fn new_table(body: &[u8]) -> Result<NewTable, ApiError> {
    let map = json_object(body)?;
    let mut errors = Errors::default();
    let id = table_id(&map, "id", &mut errors);
    let seats = if present(&map, "seats").is_none() {
        errors.add("seats", "is required");
        None
    } else {
        small_count(&map, "seats", &mut errors, Seats::new)
    };
    errors.finish(|| {
        Some(NewTable {
            id: id?,
            seats: seats?,
        })
    })
}

/// Parses and checks a booking request against the slot rules at `now`.
pub fn booking_request(
    body: &[u8],
    rules: &SlotRules,
    now: Timestamp,
) -> Result<BookingRequest, ApiError> {
    let map = json_object(body)?;
    let mut errors = Errors::default();
    let table_id = table_id(&map, "tableId", &mut errors);
    let time_slot = time_slot(&map, rules, now, &mut errors);
    let people = small_count(&map, "people", &mut errors, PartySize::new);
    let customer = match present(&map, "customer") {
        None => None,
        Some(Value::Object(customer)) => self::customer(customer, &mut errors),
        Some(_) => {
            errors.add("customer", "must be an object with name and email");
            None
        }
    };
    errors.finish(|| {
        Some(BookingRequest {
            table_id: table_id?,
            time_slot: time_slot?,
            people,
            customer: if present(&map, "customer").is_some() {
                Some(customer?)
            } else {
                None
            },
        })
    })
}

fn instant(slot: &Map<String, Value>, key: &str, errors: &mut Errors) -> Option<Timestamp> {
    let field = format!("timeSlot.{key}");
    match present(slot, key) {
        None => errors.add(&field, "is required"),
        Some(Value::String(raw)) => match raw.parse::<Timestamp>() {
            Ok(at) => return Some(at),
            Err(_) => errors.add(&field, "not a valid RFC 3339 date-time"),
        },
        Some(_) => errors.add(&field, "must be an RFC 3339 date-time string"),
    }
    None
}

fn time_slot(
    map: &Map<String, Value>,
    rules: &SlotRules,
    now: Timestamp,
    errors: &mut Errors,
) -> Option<TimeSlot> {
    let slot = match present(map, "timeSlot") {
        None => {
            errors.add("timeSlot", "is required");
            return None;
        }
        Some(Value::Object(slot)) => slot,
        Some(_) => {
            errors.add("timeSlot", "must be an object with from and to");
            return None;
        }
    };
    let from = instant(slot, "from", errors);
    let to = instant(slot, "to", errors);
    let (from, to) = (from?, to?);
    let Ok(time_slot) = TimeSlot::new(from, to) else {
        errors.add("timeSlot", "from must be before to");
        return None;
    };
    if !rules.schedule.is_slot(&time_slot, &rules.zone) {
        errors.add(
            "timeSlot",
            format!(
                "is not one of the restaurant's slots ({} local time in {})",
                rules.schedule,
                rules
                    .zone
                    .iana_name()
                    .unwrap_or("the restaurant's time zone")
            ),
        );
        return None;
    }
    if time_slot.from() <= now {
        errors.add("timeSlot.from", "must be in the future");
        return None;
    }
    let horizon = SignedDuration::from_hours(24 * i64::from(rules.horizon_days));
    if now
        .checked_add(horizon)
        .is_ok_and(|limit| time_slot.from() > limit)
    {
        errors.add(
            "timeSlot.from",
            format!(
                "is beyond the booking horizon of {} days",
                rules.horizon_days
            ),
        );
        return None;
    }
    Some(time_slot)
}

fn customer(map: &Map<String, Value>, errors: &mut Errors) -> Option<Customer> {
    let text = |key: &str, max: usize, errors: &mut Errors| -> Option<String> {
        let field = format!("customer.{key}");
        match present(map, key) {
            None => errors.add(&field, "is required"),
            Some(Value::String(raw)) => {
                let trimmed = raw.trim();
                if trimmed.is_empty() {
                    errors.add(&field, "must not be blank");
                } else if trimmed.chars().count() > max {
                    errors.add(&field, format!("must be at most {max} characters"));
                } else if trimmed.chars().any(char::is_control) {
                    errors.add(&field, "must not contain control characters");
                } else {
                    return Some(trimmed.to_owned());
                }
            }
            Some(_) => errors.add(&field, "must be a string"),
        }
        None
    };
    let name = text("name", MAX_NAME, errors);
    let email = text("email", MAX_EMAIL, errors).and_then(|email| {
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

/// Longest range `GET /booking-slots` covers: `endDate` at most this many days after
/// `startDate`.
pub const MAX_RANGE_DAYS: i32 = 14;

/// A valid `GET /booking-slots` query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AvailabilityQuery {
    pub start: Date,
    pub end: Date,
    pub people: PartySize,
}

/// Checks the query of `GET /booking-slots`: both dates (`YYYY-MM-DD`, or an RFC 3339
/// instant whose local date is used), in order, at most [`MAX_RANGE_DAYS`] apart, and
/// `people` from 1 to 50. Unknown parameters are refused too, each by name.
pub fn availability_query(
    query: &[(String, String)],
    zone: &TimeZone,
) -> Result<AvailabilityQuery, ApiError> {
    let mut errors = Errors::default();
    let mut values: std::collections::HashMap<&str, &str> = std::collections::HashMap::new();
    for (name, value) in query {
        match name.as_str() {
            "startDate" | "endDate" | "people" => {
                if values.insert(name.as_str(), value.as_str()).is_some() {
                    errors.add(name, "is given more than once");
                }
            }
            other => errors.add(other, "is not a known parameter"),
        }
    }
    let mut date = |name: &str| match values.get(name) {
        None => {
            errors.add(name, "is required (YYYY-MM-DD)");
            None
        }
        Some(raw) => local_date(raw, zone).or_else(|| {
            errors.add(name, "is not a valid date (YYYY-MM-DD or RFC 3339)");
            None
        }),
    };
    let start = date("startDate");
    let end = date("endDate");
    let people = match values.get("people") {
        None => {
            errors.add("people", "is required");
            None
        }
        Some(raw) => raw
            .trim()
            .parse::<u8>()
            .ok()
            .and_then(|n| PartySize::new(u64::from(n)).ok())
            .or_else(|| {
                errors.add("people", "must be a whole number from 1 to 50");
                None
            }),
    };
    if let (Some(start), Some(end)) = (start, end) {
        if end < start {
            errors.add("endDate", "must not be before startDate");
        } else if start
            .checked_add(jiff::Span::new().days(MAX_RANGE_DAYS))
            .is_ok_and(|limit| end > limit)
        {
            errors.add(
                "endDate",
                format!("must be at most {MAX_RANGE_DAYS} days after startDate"),
            );
        }
    }
    errors.finish(|| {
        Some(AvailabilityQuery {
            start: start?,
            end: end?,
            people: people?,
        })
    })
}

/// `YYYY-MM-DD`, or the restaurant's local date of an RFC 3339 instant.
fn local_date(raw: &str, zone: &TimeZone) -> Option<Date> {
    let raw = raw.trim();
    if raw.len() == 10 {
        return raw.parse::<Date>().ok();
    }
    let instant: Timestamp = raw.parse().ok()?;
    Some(instant.to_zoned_datetime(zone.clone()).date())
}

/// A `POST /bookings/lookup` body: the email and access code, both required.
pub fn lookup(body: &[u8]) -> Result<(String, String), ApiError> {
    let map = json_object(body)?;
    let mut errors = Errors::default();
    let mut text = |name: &str, max: usize| match present(&map, name) {
        None => {
            errors.add(name, "is required");
            None
        }
        Some(Value::String(value)) if !value.trim().is_empty() && value.chars().count() <= max => {
            Some(value.trim().to_owned())
        }
        Some(_) => {
            errors.add(
                name,
                format!("must be a non-empty string of at most {max} characters"),
            );
            None
        }
    };
    let email = text("email", MAX_EMAIL);
    let code = text("accessCode", 64);
    errors.finish(|| Some((email?, code?)))
}

/// Parses the `wait` query parameter: whole seconds, 0 to 30, default 5.
pub fn wait_seconds(raw: Option<&str>) -> Result<u64, ApiError> {
    match raw {
        None => Ok(5),
        Some(raw) => match raw.trim().parse::<u64>() {
            Ok(seconds) if seconds <= 30 => Ok(seconds),
            _ => Err(ApiError::field(
                "wait",
                "must be a whole number of seconds from 0 to 30",
            )),
        },
    }
}

/// Checks an `Idempotency-Key` header: 1 to 255 visible ASCII characters.
pub fn idempotency_key(raw: &[u8]) -> Result<&str, ApiError> {
    let valid = (1..=255).contains(&raw.len()) && raw.iter().all(|b| (0x21..=0x7e).contains(b));
    match std::str::from_utf8(raw) {
        Ok(key) if valid => Ok(key),
        _ => Err(ApiError::field(
            "Idempotency-Key",
            "must be 1 to 255 visible ASCII characters",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> SlotRules {
        SlotRules {
            schedule: SlotSchedule::parse("12:00-14:00,19:00-21:00").expect("slots"),
            zone: TimeZone::get("Europe/Paris").expect("zone"),
            horizon_days: 90,
        }
    }

    fn now() -> Timestamp {
        "2026-12-01T10:00:00Z".parse().expect("now")
    }

    fn fields(error: ApiError) -> Vec<String> {
        match error {
            ApiError::BadRequest(errors) => errors.into_iter().map(|e| e.field).collect(),
            other => panic!("expected a 400, got {other:?}"),
        }
    }

    fn request(body: &serde_json::Value) -> Result<BookingRequest, ApiError> {
        booking_request(body.to_string().as_bytes(), &rules(), now())
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
        assert_eq!(booking.table_id.as_str(), "t1");
        assert_eq!(booking.people.map(PartySize::get), Some(4));
        assert_eq!(booking.customer.map(|c| c.name), Some("Ada".to_owned()));
    }

    #[test]
    fn given_summer_time_when_booking_the_winter_utc_hours_then_the_slot_is_refused() {
        // 19:00 in Paris in July is 17:00Z; 18:00Z is not a slot start then.
        let summer = booking_request(
            br#"{"tableId":"t1","timeSlot":{"from":"2027-07-01T18:00:00Z","to":"2027-07-01T20:00:00Z"}}"#,
            &rules(),
            "2027-06-01T00:00:00Z".parse().expect("now"),
        );
        assert_eq!(fields(summer.expect_err("not a slot")), ["timeSlot"]);
        let right = booking_request(
            br#"{"tableId":"t1","timeSlot":{"from":"2027-07-01T17:00:00Z","to":"2027-07-01T19:00:00Z"}}"#,
            &rules(),
            "2027-06-01T00:00:00Z".parse().expect("now"),
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
    fn given_a_past_or_too_distant_slot_when_booking_then_timeslot_from_is_named() {
        let past = request(&serde_json::json!({"tableId": "t1",
            "timeSlot": {"from": "2026-11-30T11:00:00Z", "to": "2026-11-30T13:00:00Z"}}));
        assert_eq!(fields(past.expect_err("past")), ["timeSlot.from"]);
        let far = request(&serde_json::json!({"tableId": "t1",
            "timeSlot": {"from": "2027-06-01T10:00:00Z", "to": "2027-06-01T12:00:00Z"}}));
        assert_eq!(fields(far.expect_err("beyond horizon")), ["timeSlot.from"]);
    }

    #[test]
    fn given_malformed_json_or_a_non_object_then_the_body_is_named() {
        for body in [&b"{"[..], b"[]", b"", b"null"] {
            let error = booking_request(body, &rules(), now()).expect_err("invalid");
            assert_eq!(fields(error), ["body"]);
        }
    }

    #[test]
    fn given_a_table_body_then_id_and_seats_are_checked() {
        assert!(new_table(br#"{"id":"t-1_A","seats":50}"#).is_ok());
        let error = new_table(br#"{"id":"a.b","seats":51}"#).expect_err("invalid");
        assert_eq!(fields(error), ["id", "seats"]);
        let error = new_table(br#"{"seats":"4"}"#).expect_err("invalid");
        assert_eq!(fields(error), ["id", "seats"]);
    }

    #[test]
    fn wait_and_idempotency_key_are_bounded() {
        assert_eq!(wait_seconds(None).ok(), Some(5));
        assert_eq!(wait_seconds(Some("0")).ok(), Some(0));
        assert!(wait_seconds(Some("31")).is_err());
        assert!(wait_seconds(Some("-1")).is_err());
        assert!(idempotency_key(b"abc-123").is_ok());
        assert!(idempotency_key(b"").is_err());
        assert!(idempotency_key(b"has space").is_err());
    }
}
