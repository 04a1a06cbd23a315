//! `GET /bookings/{id}/history`: the events of a booking's saga, from both streams, in
//! the order they happened.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use events::read_model::{BookingLocksView, BookingView, HistoryEntry, Key};
use events::{CausationId, CorrelationId};
use serde::Serialize;

use super::bookings::{booking_id, no_such_booking};
use super::error::ApiError;
use super::extract::Caller;
use super::representation::Instant;
use super::state::AppState;

/// The 200 body.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct HistoryBody {
    pub events: Vec<HistoryEvent>,
}

/// One event: its type, when, its saga and cause, and its data without the access-code
/// digest.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HistoryEvent {
    #[serde(rename = "type")]
    #[schema(example = "table-booking-confirmed")]
    pub event_type: String,
    pub occurred_at: Instant,
    #[schema(value_type = String, format = "uuid")]
    pub correlation_id: CorrelationId,
    #[schema(value_type = String, format = "uuid")]
    pub causation_id: CausationId,
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
}

impl From<&HistoryEntry> for HistoryEvent {
    fn from(entry: &HistoryEntry) -> Self {
        Self {
            event_type: entry.event_type.clone(),
            occurred_at: Instant(entry.occurred_at),
            correlation_id: entry.correlation_id,
            causation_id: entry.causation_id,
            data: entry.data.clone(),
        }
    }
}

/// `GET /bookings/{id}/history`. Needs the access code (`X-Access-Code`) or the admin
/// token.
#[tracing::instrument(skip_all, fields(booking_id = %raw_id))]
#[utoipa::path(
    get,
    path = "/bookings/{id}/history",
    tag = "bookings",
    summary = "The events of a booking's saga",
    params(
        ("id" = String, Path, description = "the booking's id (a UUID)"),
        ("X-Access-Code" = Option<String>, Header, description = "the booking's access code (or in the body, or the admin token)"),
    ),
    security(("access_code" = []), ("admin_token" = [])),
    responses(
        (status = 200, description = "the events in the order they happened", body = HistoryBody),
        (status = 403, response = crate::http::error::responses::Forbidden),
        (status = 404, description = "no such booking", body = crate::http::error::Problem, content_type = "application/problem+json"),
        (status = 429, response = crate::http::error::responses::TooManyAttempts),
        (status = 503, response = crate::http::error::responses::Unavailable),
    )
)]
pub async fn history(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(raw_id): Path<String>,
) -> Result<Json<HistoryBody>, ApiError> {
    let id = booking_id(&raw_id)?;
    let reads = state.reads()?;
    let (booking_key, locks_key) = (Key::Booking(id), Key::BookingLocks(id));
    let (booking, locks) = tokio::try_join!(
        reads.get::<BookingView>(&booking_key),
        reads.get::<BookingLocksView>(&locks_key),
    )?;
    let booking = booking.ok_or_else(no_such_booking)?;
    if !caller
        .authorized(&state, id, &booking.access_code_digest)
        .await?
    {
        return Err(ApiError::Forbidden);
    }
    Ok(Json(HistoryBody {
        events: in_order(&booking, locks.as_ref()),
    }))
}

/// The booking's own events and its locks' events, by time, then stream and sequence.
fn in_order(booking: &BookingView, locks: Option<&BookingLocksView>) -> Vec<HistoryEvent> {
    let mut entries: Vec<&HistoryEntry> = booking.events.iter().collect();
    entries.extend(locks.iter().flat_map(|locks| locks.events.iter()));
    entries.sort_by(|a, b| {
        (a.occurred_at, &a.stream, a.sequence).cmp(&(b.occurred_at, &b.stream, b.sequence))
    });
    entries.into_iter().map(HistoryEvent::from).collect()
}
