//! `GET /booking-slots`: the free tables per slot over a range of local days.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use events::{PartySize, TableId};
use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use serde::Serialize;

use super::error::ApiError;
use super::extract::QueryPairs;
use super::fields::Errors;
use super::representation::{CombinationBody, Instant};
use super::state::AppState;
use crate::seating::availability::{self, Day, DayAvailability, FreeCombination};
use crate::seating::floor::Floor;

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

/// The 200 body.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SlotsBody {
    #[schema(value_type = String, format = Date)]
    pub start_date: Date,
    #[schema(value_type = String, format = Date)]
    pub end_date: Date,
    pub people: PartySize,
    pub availabilities: Vec<DayBody>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DayBody {
    #[schema(value_type = String, format = Date)]
    pub day: Date,
    pub slots: Vec<SlotBody>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SlotBody {
    pub start_time: Instant,
    pub end_time: Instant,
    pub available_tables: Vec<TableId>,
    /// The free combinations that seat the party (API.md v2).
    pub available_combinations: Vec<CombinationBody>,
}

impl From<DayAvailability> for DayBody {
    fn from(day: DayAvailability) -> Self {
        Self {
            day: day.date,
            slots: day
                .slots
                .into_iter()
                .map(|free| SlotBody {
                    start_time: Instant(free.slot.from()),
                    end_time: Instant(free.slot.to()),
                    available_tables: free.tables,
                    available_combinations: free
                        .combinations
                        .into_iter()
                        .map(CombinationBody::from)
                        .collect(),
                })
                .collect(),
        }
    }
}

impl From<FreeCombination> for CombinationBody {
    fn from(free: FreeCombination) -> Self {
        Self {
            id: free.id,
            tables: free.tables,
            seats: free.seats,
        }
    }
}

/// `GET /booking-slots`.
#[utoipa::path(
    get,
    path = "/booking-slots",
    tag = "availability",
    summary = "Free slots for a party over up to 15 days",
    params(
        ("startDate" = String, Query, format = Date, description = "first day (YYYY-MM-DD, or an RFC 3339 instant: its local date)"),
        ("endDate" = String, Query, format = Date, description = "last day, at most 14 days after startDate"),
        ("people" = u8, Query, minimum = 1, maximum = 50, description = "the party size"),
    ),
    responses(
        (status = 200, description = "one entry per local day, only slots where a table or combination fits", body = SlotsBody),
        (status = 400, response = crate::http::error::responses::BadRequest),
        (status = 503, response = crate::http::error::responses::Unavailable),
    )
)]
pub async fn list(
    State(state): State<Arc<AppState>>,
    query: QueryPairs,
) -> Result<Json<SlotsBody>, ApiError> {
    let now = Timestamp::now();
    let rules = &state.rules;
    let wanted = AvailabilityQuery::parse(&query.0, &rules.zone)?;
    let reads = state.reads()?;

    let mut days = Vec::new();
    let mut date = wanted.start;
    while date <= wanted.end {
        days.push(Day {
            date,
            slots: rules.bookable_on(date, now),
        });
        date = match date.tomorrow() {
            Ok(next) => next,
            Err(_) => break,
        };
    }
    let floor = Floor::read(reads, &days).await?;
    let offered = availability::availability(&days, &floor.tables, &floor.held(), wanted.people);
    Ok(Json(SlotsBody {
        start_date: wanted.start,
        end_date: wanted.end,
        people: wanted.people,
        availabilities: offered.into_iter().map(DayBody::from).collect(),
    }))
}

impl AvailabilityQuery {
    /// Checks the query: both dates (`YYYY-MM-DD`, or an RFC 3339 instant whose local date
    /// is used), in order, at most [`MAX_RANGE_DAYS`] apart, and `people` from 1 to 50.
    /// Unknown or repeated parameters are refused too, each by name.
    pub fn parse(query: &[(String, String)], zone: &TimeZone) -> Result<Self, ApiError> {
        let mut errors = Errors::default();
        let mut values: HashMap<&str, &str> = HashMap::new();
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
            Some(Self {
                start: start?,
                end: end?,
                people: people?,
            })
        })
    }
}

/// `YYYY-MM-DD`, or the restaurant's local date of an RFC 3339 instant.
pub(super) fn local_date(raw: &str, zone: &TimeZone) -> Option<Date> {
    let raw = raw.trim();
    if raw.len() == 10 {
        return raw.parse::<Date>().ok();
    }
    let instant: Timestamp = raw.parse().ok()?;
    Some(instant.to_zoned_datetime(zone.clone()).date())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::testing::fields;

    fn query(pairs: &[(&str, &str)]) -> Result<AvailabilityQuery, ApiError> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        AvailabilityQuery::parse(&pairs, &TimeZone::get("Europe/Paris").expect("zone"))
    }

    #[test]
    fn given_dates_and_people_then_the_query_is_accepted_with_local_dates() {
        let wanted = query(&[
            ("startDate", "2026-12-24"),
            ("endDate", "2026-12-24T23:30:00Z"),
            ("people", "4"),
        ])
        .expect("valid");
        assert_eq!(wanted.start, Date::constant(2026, 12, 24));
        // 23:30Z is already the 25th in Paris.
        assert_eq!(wanted.end, Date::constant(2026, 12, 25));
    }

    #[test]
    fn given_unknown_repeated_or_missing_parameters_then_each_is_named() {
        let error = query(&[
            ("startDate", "2026-12-24"),
            ("startDate", "2026-12-25"),
            ("colour", "red"),
        ])
        .expect_err("invalid");
        assert_eq!(fields(error), ["startDate", "colour", "endDate", "people"]);
    }

    #[test]
    fn given_a_range_backwards_or_over_fourteen_days_then_end_date_is_named() {
        let backwards = query(&[
            ("startDate", "2026-12-24"),
            ("endDate", "2026-12-23"),
            ("people", "2"),
        ]);
        assert_eq!(fields(backwards.expect_err("backwards")), ["endDate"]);
        let long = query(&[
            ("startDate", "2026-12-01"),
            ("endDate", "2026-12-16"),
            ("people", "2"),
        ]);
        assert_eq!(fields(long.expect_err("too long")), ["endDate"]);
    }
}
