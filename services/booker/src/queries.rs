//! The read routes of API.md, answered from the projected read models. They converge on
//! the event log within moments; none of them writes anything.

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use events::read_model::{
    BookingLocksView, BookingView, DayView, HistoryEntry, Key, LocatorView, TablesView,
    email_digest,
};
use events::{BookingId, TimeSlot};
use futures_util::future::try_join_all;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

use crate::access::AccessCode;
use crate::input;
use crate::problem::ApiError;
use crate::reads::ReadModels;
use crate::routes::{AppState, body, header_access_code};
use crate::view::{self, Viewer, instant};

type Shared = State<Arc<AppState>>;

fn not_found() -> ApiError {
    ApiError::NotFound("no such booking".to_owned())
}

/// `GET /tables`: the tables not removed, sorted by id.
pub async fn list_tables(State(state): Shared) -> Result<Response, ApiError> {
    let tables: TablesView = state.reads()?.get(&Key::Tables).await?.unwrap_or_default();
    let listed: Vec<Value> = tables
        .tables
        .iter()
        .filter(|(_, table)| !table.removed)
        .map(|(id, table)| json!({"id": id.as_str(), "seats": table.seats}))
        .collect();
    Ok(Json(json!({ "tables": listed })).into_response())
}

/// `GET /booking-slots`.
pub async fn booking_slots(
    State(state): Shared,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<Response, ApiError> {
    let now = Timestamp::now();
    let Query(query) =
        query.map_err(|_| ApiError::field("query", "is not a valid query string"))?;
    let rules = &state.rules;
    let wanted = input::availability_query(&query, &rules.zone)?;
    let reads = state.reads()?;

    let horizon = now
        .checked_add(SignedDuration::from_hours(
            24 * i64::from(rules.horizon_days),
        ))
        .unwrap_or(Timestamp::MAX);
    let mut days: Vec<(Date, Vec<TimeSlot>)> = Vec::new();
    let mut day = wanted.start;
    while day <= wanted.end {
        let slots = rules
            .schedule
            .slots_on(day, &rules.zone)
            .into_iter()
            .filter(|slot| slot.from() > now && slot.from() <= horizon)
            .collect();
        days.push((day, slots));
        day = match day.tomorrow() {
            Ok(next) => next,
            Err(_) => break,
        };
    }

    // Locks are filed under the UTC date their slot starts on; a slot may meet locks
    // filed the day before (a slot across midnight UTC) or on the day it ends.
    let mut dates = BTreeSet::new();
    for slot in days.iter().flat_map(|(_, slots)| slots) {
        let from = utc_date(slot.from());
        dates.insert(from);
        if let Ok(before) = from.yesterday() {
            dates.insert(before);
        }
        dates.insert(utc_date(slot.to()));
    }
    let tables_doc = reads.get::<TablesView>(&Key::Tables);
    let day_docs = try_join_all(dates.into_iter().map(|date| async move {
        reads
            .get::<DayView>(&Key::Day(date))
            .await
            .map(Option::unwrap_or_default)
    }));
    let (tables, day_docs) = tokio::try_join!(tables_doc, day_docs)?;
    let tables = tables.unwrap_or_default();
    let locks: Vec<_> = day_docs.iter().flat_map(|doc| doc.locks.values()).collect();

    let people = wanted.people.get();
    let availabilities: Vec<Value> = days
        .iter()
        .map(|(day, slots)| {
            let slots: Vec<Value> = slots
                .iter()
                .filter_map(|slot| {
                    let free: Vec<&str> = tables
                        .tables
                        .iter()
                        .filter(|(id, table)| {
                            !table.removed
                                && table.seats >= people
                                && !locks.iter().any(|lock| {
                                    &lock.table_id == *id && lock.time_slot.overlaps(slot)
                                })
                        })
                        .map(|(id, _)| id.as_str())
                        .collect();
                    (!free.is_empty()).then(|| {
                        json!({
                            "startTime": instant(slot.from()),
                            "endTime": instant(slot.to()),
                            "availableTables": free,
                        })
                    })
                })
                .collect();
            json!({"day": day.to_string(), "slots": slots})
        })
        .collect();
    Ok(Json(json!({
        "startDate": wanted.start.to_string(),
        "endDate": wanted.end.to_string(),
        "people": people,
        "availabilities": availabilities,
    }))
    .into_response())
}

fn utc_date(at: Timestamp) -> Date {
    at.to_zoned_datetime(TimeZone::UTC).date()
}

/// `GET /bookings/{id}`: the customer only to the admin or with the access code; the
/// access code never.
#[tracing::instrument(skip_all, fields(booking_id = %raw_id))]
pub async fn get_booking(
    State(state): Shared,
    headers: HeaderMap,
    Path(raw_id): Path<String>,
) -> Result<Response, ApiError> {
    let id = BookingId::parse(&raw_id).map_err(|_| not_found())?;
    let booking = find(&state, id).await?;
    let viewer = if state.may_see(&headers, &booking) {
        Viewer::Authorized
    } else {
        Viewer::Public
    };
    Ok(Json(view::booking_view(&booking, viewer)).into_response())
}

async fn find(state: &AppState, id: BookingId) -> Result<BookingView, ApiError> {
    state
        .reads()?
        .get::<BookingView>(&Key::Booking(id))
        .await?
        .ok_or_else(not_found)
}

/// `POST /bookings/lookup`: the booking made with this email and access code. A wrong
/// code and an unknown email get the same 404, after the same work.
pub async fn lookup_booking(
    State(state): Shared,
    raw: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let (email, code) = input::lookup(&body(raw)?)?;
    let code = AccessCode::from_input(&code);
    let reads = state.reads()?;
    let locator: LocatorView = reads
        .get(&Key::Locator(email_digest(&email)))
        .await?
        .unwrap_or_default();
    let found = locator
        .bookings
        .iter()
        .find(|(id, digest)| code.matches(**id, digest))
        .map(|(id, _)| *id);
    let no_match = || ApiError::NotFound("no booking for this email and access code".to_owned());
    let id = found.ok_or_else(no_match)?;
    let booking = find(&state, id).await.map_err(|e| match e {
        ApiError::NotFound(_) => no_match(),
        other => other,
    })?;
    Ok(Json(view::booking_view(&booking, Viewer::Creator(&code))).into_response())
}

/// `GET /bookings/{id}/history`: the events of the booking's saga, both streams, in the
/// order they happened. Needs the access code (`X-Access-Code`) or the admin token.
#[tracing::instrument(skip_all, fields(booking_id = %raw_id))]
pub async fn booking_history(
    State(state): Shared,
    headers: HeaderMap,
    Path(raw_id): Path<String>,
) -> Result<Response, ApiError> {
    let id = BookingId::parse(&raw_id).map_err(|_| not_found())?;
    let reads = state.reads()?;
    let (booking_key, locks_key) = (Key::Booking(id), Key::BookingLocks(id));
    let (booking, locks) = tokio::try_join!(
        reads.get::<BookingView>(&booking_key),
        reads.get::<BookingLocksView>(&locks_key),
    )?;
    let booking = booking.ok_or_else(not_found)?;
    if !state.may_see(&headers, &booking) {
        return Err(ApiError::Forbidden);
    }
    let mut entries: Vec<&HistoryEntry> = booking.events.iter().collect();
    entries.extend(locks.iter().flat_map(|locks| locks.events.iter()));
    entries.sort_by(|a, b| {
        (a.occurred_at, &a.stream, a.sequence).cmp(&(b.occurred_at, &b.stream, b.sequence))
    });
    let events: Vec<Value> = entries
        .into_iter()
        .map(|entry| {
            json!({
                "type": entry.event_type,
                "occurredAt": instant(entry.occurred_at),
                "correlationId": entry.correlation_id.to_string(),
                "causationId": entry.causation_id.to_string(),
                "data": entry.data,
            })
        })
        .collect();
    Ok(Json(json!({ "events": events })).into_response())
}

impl AppState {
    fn reads(&self) -> Result<&ReadModels, ApiError> {
        self.backend().map(|backend| backend.reads.as_ref())
    }

    /// The admin token, or the booking's access code in `X-Access-Code`.
    fn may_see(&self, headers: &HeaderMap, booking: &BookingView) -> bool {
        self.is_admin(headers)
            || header_access_code(headers)
                .is_some_and(|code| code.matches(booking.id, &booking.access_code_digest))
    }
}
