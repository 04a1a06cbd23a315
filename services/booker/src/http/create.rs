//! `POST /bookings` (alias `POST /booking/initiate`): a guest books a table, or a party
//! size and the restaurant gives it a place (ADR 0027).

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use domain::Booking;
use events::{BookingStatus, Customer};
use jiff::Timestamp;

use super::booking_request::BookingRequestBody;
use super::bookings::{store_failure, wait_seconds};
use super::error::{ApiError, Reason};
use super::extract::{Body, IdempotencyKey, QueryPairs};
use super::fields::json_body;
use super::representation::{AlternativeBody, BookingBody, Viewer};
use super::state::AppState;
use crate::edge::access::AccessCode;
use crate::edge::idempotency::{Claim, IdempotencyError};
use crate::use_cases::book::{BookError, Identity};

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
    tracing::Span::current().record("booking_id", tracing::field::display(claim.booking_id));
    let who = Identity {
        id: claim.booking_id,
        access_code: &claim.access_code,
        // A key may stand for a booking made earlier; a fresh random id is surely new.
        replayable: key.is_some(),
    };
    let booked = backend
        .book(&state)
        .book(who, &request, Duration::from_secs(wait))
        .await
        .map_err(|error| match error {
            BookError::KeyReused => ApiError::IdempotencyMismatch,
            BookError::PeopleMissing => {
                ApiError::field("people", "is required when tableId is left out")
            }
            BookError::Tables(error) => ApiError::unavailable(error),
            BookError::Floor(error) => error.into(),
            BookError::Customer(error) => error.into(),
            BookError::Store(error) => store_failure(error),
        })?;
    let alternatives = booked
        .alternatives
        .map(|found| found.into_iter().map(AlternativeBody::from).collect());
    created(
        &booked.booking,
        &claim.access_code,
        request.customer,
        alternatives,
    )
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
