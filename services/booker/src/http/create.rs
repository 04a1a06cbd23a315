//! `POST /bookings` (alias `POST /booking/initiate`): a guest books a table, or a party
//! size and the restaurant gives it a place (ADR 0027).

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use domain::{Aggregate as _, Booking, BookingCommand};
use events::read_model::days_overlapping;
use events::{
    BookingId, BookingStatus, CombinationId, Customer, PartySize, RejectionReason, Step,
    TableBookingInitiated, TableId,
};
use eventstore::{AppendContext, ExecuteError};
use jiff::Timestamp;

use super::alternatives;
use super::booking_request::{BookingRequest, BookingRequestBody};
use super::bookings::{store_failure, wait_seconds};
use super::error::{ApiError, Reason};
use super::extract::{Body, IdempotencyKey, QueryPairs};
use super::fields::json_body;
use super::representation::{AlternativeBody, BookingBody, Viewer};
use super::state::{AppState, Backend};
use crate::access::AccessCode;
use crate::floor::Floor;
use crate::idempotency::{Claim, IdempotencyError};
use crate::saga;

/// `POST /bookings` and `POST /booking/initiate`.
#[tracing::instrument(skip_all, fields(booking_id))]
#[utoipa::path(
    post,
    path = "/bookings",
    tag = "bookings",
    summary = "Book a table, or a party size (the restaurant picks)",
    params(
        ("wait" = Option<u64>, Query, minimum = 0, maximum = 30, description = "seconds to wait for the outcome (0 to 30, default 5)"),
        ("Idempotency-Key" = Option<String>, Header, description = "a retry with the same key answers the same booking"),
    ),
    request_body = BookingRequestBody,
    responses(
        (status = 201, description = "confirmed (or cancelled meanwhile): the booking with its access code", body = crate::http::representation::BookingBody),
        (status = 202, description = "not decided within `wait`: the booking, still `initiated`, with its access code", body = crate::http::representation::BookingBody, headers(("Location" = String, description = "the booking's URL"))),
        (status = 400, response = crate::http::error::responses::BadRequest),
        (status = 409, description = "rejected: `booking` with its `reason`, `alternatives` where the party fits instead", body = crate::http::error::Problem, content_type = "application/problem+json"),
        (status = 413, response = crate::http::error::responses::TooLarge),
        (status = 422, description = "this Idempotency-Key was used with a different request", body = crate::http::error::Problem, content_type = "application/problem+json"),
        (status = 503, response = crate::http::error::responses::Unavailable),
    )
)]
pub async fn create(
    State(state): State<Arc<AppState>>,
    query: QueryPairs,
    IdempotencyKey(key): IdempotencyKey,
    Body(body): Body,
) -> Result<Response, ApiError> {
    let now = Timestamp::now();
    let wait = wait_seconds(query.last("wait"))?;
    let request = json_body::<BookingRequestBody>(&body)?.parse(&state.rules, now)?;
    let backend = state.backend()?;

    // A key may stand for a booking made earlier; a fresh random id is surely new.
    let replayable = key.is_some();
    let claim = match &key {
        Some(key) => {
            let request = &request.canonical();
            backend.idempotency.claim(key, request, &state.keys).await
        }
        None => Claim::fresh().map_err(IdempotencyError::from),
    }
    .map_err(|error| match error {
        IdempotencyError::Mismatch => ApiError::IdempotencyMismatch,
        IdempotencyError::Full(_) => {
            state.refused_full("idempotency");
            ApiError::full("the Idempotency-Key store", error)
        }
        IdempotencyError::Unavailable(_) => ApiError::unavailable(error),
        IdempotencyError::Corrupt(_) | IdempotencyError::Random(_) => ApiError::internal(error),
    })?;
    let id = claim.booking_id;
    tracing::Span::current().record("booking_id", tracing::field::display(id));
    // The customer is kept only sealed with the booking's own key (ADR 0024).
    let sealed = match &request.customer {
        Some(customer) => Some(
            backend
                .customers
                .seal(id, customer, &claim.access_code)
                .await?,
        ),
        None => None,
    };
    // Last before the append: a place given is claimed until the booking is decided.
    let place = place_for(backend, id, &request).await?;
    let initiated = TableBookingInitiated {
        id,
        table_id: events::single(&place.tables),
        table_ids: place.tables,
        combination_id: place.combination,
        assigned: request.table_id.is_none(),
        time_slot: request.time_slot,
        people: request.people,
        customer: None,
        access_code_digest: claim.access_code.digest(&state.keys, id),
        unknown_table: place.unknown_table,
        sealed_customer: sealed.as_ref().map(|s| s.customer.clone()),
        sealed_access_code: sealed.as_ref().map(|s| s.access_code.clone()),
        email_digest: sealed.map(|s| s.email_digest),
    };
    let refused = initiated.edge_rejection();
    let initiated_tables = initiated.table_ids.clone();
    // Registered before the append, so the outcome cannot pass unseen.
    let mut waiter = (wait > 0).then(|| backend.outcomes.register(id));
    let context = AppendContext::for_request(Step::Initiate, id.as_uuid(), id.into());
    let command = BookingCommand::Initiate(initiated);
    let executed = if replayable {
        backend.bookings.execute(&id, &command, &context).await
    } else {
        backend.bookings.execute_new(&id, &command, &context).await
    };
    let mut booking = match executed {
        Ok(executed) => match refused {
            // Decided already: rejected now rather than by a consumer (ADR 0020, 0027).
            // Should this append fail, the timeouts consumer rejects it; the answer is 202.
            Some(reason) => {
                let initiated = context.command_id.event_id(0);
                match saga::refuse_at_edge(&backend.bookings, id, initiated, reason).await {
                    Ok(rejected) => rejected.state,
                    Err(error) => {
                        tracing::warn!(%error, "the booking refused as it was made is left to the timeouts consumer");
                        executed.state
                    }
                }
            }
            None => {
                // A retry of a booking made before keeps the place it was given then.
                if executed.state.tables != initiated_tables {
                    backend.claims.release(id);
                }
                executed.state
            }
        },
        // Only an idempotent replay can meet an existing booking id.
        Err(ExecuteError::Rejected(_)) => {
            backend.claims.release(id);
            return Err(ApiError::IdempotencyMismatch);
        }
        Err(error) => {
            backend.claims.release(id);
            return Err(store_failure(error));
        }
    };

    if let (Some(BookingStatus::Initiated), Some(waiter)) = (booking.status, waiter.as_mut()) {
        if let Some(outcome) = waiter.wait(Duration::from_secs(wait)).await {
            booking = booking.evolve(&outcome);
        } else if let Ok((fresh, _)) = backend.bookings.load_fresh(&id).await {
            // The outcome may have come while the subscription was reconnecting.
            booking = fresh;
        }
    }
    drop(waiter);
    if booking.status == Some(BookingStatus::Rejected) {
        backend.claims.release(id);
    }
    // A refusal for want of a place says where the party fits instead.
    let wanting = matches!(
        booking.rejection,
        Some(
            RejectionReason::SlotTaken
                | RejectionReason::TooSmall
                | RejectionReason::NoTableAvailable
        )
    );
    let wanting = wanting && booking.status == Some(BookingStatus::Rejected);
    // Without a party size (a table asked for), any table fits the party.
    let alternatives = match request.people.or(PartySize::new(1).ok()) {
        Some(people) if wanting => {
            Some(alternatives::alternatives(&state, request.time_slot, people, None).await)
        }
        _ => None,
    };
    created(&booking, &claim.access_code, request.customer, alternatives)
}

/// Where a booking goes: the table asked for, or the place the restaurant gives the party.
struct PlaceFor {
    /// Empty when nothing fits the party.
    tables: Vec<TableId>,
    combination: Option<CombinationId>,
    /// The table asked for was never added (ADR 0020).
    unknown_table: bool,
}

async fn place_for(
    backend: &Backend,
    id: BookingId,
    request: &BookingRequest,
) -> Result<PlaceFor, ApiError> {
    if let Some(table) = &request.table_id {
        // A table that was never added is refused here, in the booking's first write,
        // rather than by table-manager: made-up ids never queue ahead of real bookings.
        let known = backend
            .known_tables
            .exists(table)
            .await
            .map_err(ApiError::unavailable)?;
        return Ok(PlaceFor {
            tables: vec![table.clone()],
            combination: None,
            unknown_table: !known,
        });
    }
    let people = request
        .people
        .ok_or_else(|| ApiError::field("people", "is required when tableId is left out"))?;
    let slot = request.time_slot;
    let floor = Floor::read_dates(&backend.reads, days_overlapping(&slot).collect()).await?;
    let none = BTreeSet::new();
    let place = backend
        .claims
        .give(id, &floor, slot, people, &none, Instant::now());
    Ok(PlaceFor {
        tables: place.as_ref().map(|p| p.tables.clone()).unwrap_or_default(),
        combination: place.and_then(|p| p.combination),
        unknown_table: false,
    })
}

/// 201 confirmed (or cancelled meanwhile), 202 still pending, 409 rejected (with
/// `alternatives` when given); `customer` as the request gave it.
fn created(
    booking: &Booking,
    code: &AccessCode,
    customer: Option<Customer>,
    alternatives: Option<Vec<AlternativeBody>>,
) -> Result<Response, ApiError> {
    let body = BookingBody::of_booking(booking, Viewer::Creator(code), customer.clone())
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("a booking just made is missing")))?;
    Ok(match body.status {
        BookingStatus::Rejected => {
            let reason = body.reason.map(Reason::from);
            return Err(ApiError::Conflict {
                detail: format!(
                    "the booking was rejected: {}",
                    reason.map_or("rejected", Reason::name)
                ),
                reason,
                booking: BookingBody::of_booking(booking, Viewer::Authorized, customer)
                    .map(Box::new),
                alternatives,
            });
        }
        BookingStatus::Initiated => (
            StatusCode::ACCEPTED,
            [(header::LOCATION, format!("/bookings/{}", body.id))],
            Json(body),
        )
            .into_response(),
        BookingStatus::Confirmed | BookingStatus::Cancelled => {
            (StatusCode::CREATED, Json(body)).into_response()
        }
    })
}
