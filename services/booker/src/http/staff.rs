//! What the staff page reads (API.md is silent; documented in docs/api.md): the day sheet,
//! `GET /bookings?date=YYYY-MM-DD`, every booking holding a table in one of the day's
//! slots with its customer, and `GET /read-side`, the read models' generation and lag.
//! Both need the admin token.

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use events::names::{BOOKINGS_STREAM, TABLES_STREAM};
use events::read_model::{BookingView, Checkpoint, DayView, Key, days_overlapping};
use futures_util::future::try_join_all;
use serde::Serialize;

use super::customer_view::customer_of;
use super::error::ApiError;
use super::extract::{Admin, QueryPairs};
use super::representation::{BookingBody, TimeSlotBody, Viewer};
use super::slots::local_date;
use super::state::AppState;

/// The day sheet: the day's slots, each with the bookings holding a table in it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DaySheetBody {
    #[schema(value_type = String, format = Date)]
    pub date: jiff::civil::Date,
    pub slots: Vec<SheetSlotBody>,
}

/// One slot of the day sheet.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SheetSlotBody {
    pub time_slot: TimeSlotBody,
    /// Sorted by their first table.
    pub bookings: Vec<BookingBody>,
}

/// `GET /bookings?date=`: the day sheet.
#[utoipa::path(
    get,
    path = "/bookings",
    tag = "staff",
    summary = "The day sheet: the bookings holding a table in each slot of a day",
    params(("date" = String, Query, format = Date, description = "the local day (YYYY-MM-DD)")),
    security(("admin_token" = [])),
    responses(
        (status = 200, description = "every slot of the day, with its bookings and their customers", body = DaySheetBody),
        (status = 400, description = "`date` is missing or invalid", body = crate::http::error::Problem, content_type = "application/problem+json"),
        (status = 401, response = crate::http::error::responses::Unauthorized),
        (status = 429, description = "too many wrong admin tokens from this client", body = crate::http::error::Problem, content_type = "application/problem+json"),
        (status = 503, description = "the read side cannot be read", body = crate::http::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn day_sheet(
    State(state): State<Arc<AppState>>,
    _admin: Admin,
    query: QueryPairs,
) -> Result<Json<DaySheetBody>, ApiError> {
    let zone = &state.rules.zone;
    let date = match query.0.as_slice() {
        [(name, raw)] if name == "date" => local_date(raw, zone),
        _ => None,
    }
    .ok_or_else(|| ApiError::field("date", "must be one date, YYYY-MM-DD"))?;
    let reads = state.reads()?;
    let slots = state.rules.schedule.slots_on(date, zone);
    let dates: BTreeSet<_> = slots.iter().flat_map(days_overlapping).collect();
    let days = try_join_all(
        dates
            .into_iter()
            .map(|date| async move { reads.get::<DayView>(&Key::Day(date)).await }),
    )
    .await?;
    let mut sheet = Vec::new();
    for slot in slots {
        let holders: BTreeSet<_> = days
            .iter()
            .flatten()
            .flat_map(|day| day.locks.values())
            .filter(|lock| lock.time_slot == slot)
            .map(|lock| lock.booking_id)
            .collect();
        let views = try_join_all(
            holders
                .into_iter()
                .map(|id| async move { reads.get::<BookingView>(&Key::Booking(id)).await }),
        )
        .await?;
        let mut bookings = Vec::new();
        for view in views.into_iter().flatten() {
            let sealed = view.sealed_customer.as_deref();
            let customer = customer_of(&state, view.id, sealed, view.customer.as_ref()).await?;
            bookings.push(BookingBody::of_view(&view, Viewer::Authorized, customer));
        }
        bookings.sort_by(|a, b| a.table_ids.cmp(&b.table_ids));
        sheet.push(SheetSlotBody {
            time_slot: slot.into(),
            bookings,
        });
    }
    Ok(Json(DaySheetBody { date, slots: sheet }))
}

/// The read side: which generation the queries read, and how far it is behind each
/// stream.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ReadSideBody {
    pub generation: u64,
    pub streams: Vec<StreamLagBody>,
}

/// How far the read side is behind one stream.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StreamLagBody {
    #[schema(example = "BOOKINGS")]
    pub stream: &'static str,
    /// The stream's last sequence.
    pub last: u64,
    /// The last sequence the read side has applied.
    pub applied: u64,
    /// Events not applied yet.
    pub lag: u64,
}

/// `GET /read-side`.
#[utoipa::path(
    get,
    path = "/read-side",
    tag = "staff",
    summary = "The read models' generation and lag",
    security(("admin_token" = [])),
    responses(
        (status = 200, description = "the generation read and the lag per stream", body = ReadSideBody),
        (status = 401, response = crate::http::error::responses::Unauthorized),
        (status = 429, description = "too many wrong admin tokens from this client", body = crate::http::error::Problem, content_type = "application/problem+json"),
        (status = 503, description = "no read model yet, or NATS cannot be reached", body = crate::http::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn read_side(
    State(state): State<Arc<AppState>>,
    _admin: Admin,
) -> Result<Json<ReadSideBody>, ApiError> {
    let reads = state.reads()?;
    let generation = reads
        .generation()
        .ok_or_else(|| ApiError::unavailable(anyhow::anyhow!("no read model yet")))?;
    let mut streams = Vec::new();
    for stream in [BOOKINGS_STREAM, TABLES_STREAM] {
        let last = reads
            .last_sequence(stream)
            .await
            .map_err(ApiError::unavailable)?;
        let applied = reads
            .get::<Checkpoint>(&Key::Checkpoint(stream))
            .await?
            .map_or(0, |c| c.sequence);
        streams.push(StreamLagBody {
            stream,
            last,
            applied,
            lag: last.saturating_sub(applied),
        });
    }
    Ok(Json(ReadSideBody {
        generation,
        streams,
    }))
}
