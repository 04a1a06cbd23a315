//! `POST /bookings/{id}/change`: a guest (with the access code) or staff move a confirmed
//! booking to another slot, party size or table (API.md v2, ADR 0029). The new tables are
//! locked before the old ones are released, so the change takes effect whole or not at
//! all; the answer waits for it as `POST /bookings` waits for a confirmation.

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use domain::{Booking, BookingRejection};
use jiff::Timestamp;

use super::bookings::{load_for, no_such_booking, store_failure, wait_seconds};
use super::change_request::ChangeRequestBody;
use super::customer_view::customer_of_booking;
use super::error::{ApiError, Reason};
use super::extract::{Body, Caller, QueryPairs};
use super::fields::json_body;
use super::representation::{AlternativeBody, BookingBody, Viewer};
use super::state::AppState;
use crate::use_cases::change::{ChangeError, Changed};

/// `POST /bookings/{id}/change`.
#[tracing::instrument(skip_all, fields(booking_id = %raw_id))]
#[utoipa::path(
    post,
    path = "/bookings/{id}/change",
    tag = "bookings",
    summary = "Change a booking's slot, party or table",
    params(
        ("id" = String, Path, description = "the booking's id (a UUID)"),
        ("wait" = Option<u64>, Query, minimum = 0, maximum = 30, description = "seconds to wait for the outcome (0 to 30, default 5)"),
        ("X-Access-Code" = Option<String>, Header, description = "the booking's access code (or in the body, or the admin token)"),
    ),
    request_body = ChangeRequestBody,
    security(("access_code" = []), ("admin_token" = [])),
    responses(
        (status = 200, description = "the booking at its new place", body = crate::http::representation::BookingBody),
        (status = 202, description = "not decided within `wait`: the booking with `pendingChange`", body = crate::http::representation::BookingBody, headers(("Location" = String, description = "the booking's URL"))),
        (status = 400, response = crate::http::error::responses::BadRequest),
        (status = 403, response = crate::http::error::responses::Forbidden),
        (status = 404, description = "no such booking", body = crate::http::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "refused (`reason`, `alternatives`, the unchanged `booking`), or the booking is not confirmed, has started or has a change pending", body = crate::http::error::Problem, content_type = "application/problem+json"),
        (status = 413, response = crate::http::error::responses::TooLarge),
        (status = 429, response = crate::http::error::responses::TooManyAttempts),
        (status = 503, response = crate::http::error::responses::Unavailable),
    )
)]
pub async fn change(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(raw_id): Path<String>,
    query: QueryPairs,
    body: Body,
) -> Result<Response, ApiError> {
    let now = Timestamp::now();
    let wait = wait_seconds(query.last("wait"))?;
    let caller = caller.with_code_of(&body)?;
    let asked = json_body::<ChangeRequestBody>(&body.0)?.parse(&state.rules, now)?;
    let id = super::bookings::booking_id(&raw_id)?;
    let backend = state.backend()?;
    let (booking, _) = load_for(&state, &caller, id, true).await?;
    let changed = backend
        .change(&state)
        .change(id, booking, &asked, now, Duration::from_secs(wait))
        .await
        .map_err(|error| match error {
            ChangeError::Refused(rejection) => refusal(rejection),
            ChangeError::Floor(error) => error.into(),
            ChangeError::Store(error) => store_failure(error),
        })?;
    match changed {
        Changed::Moved(booking) => {
            let body = body_of(&state, &booking).await?;
            Ok((StatusCode::OK, Json(body)).into_response())
        }
        Changed::Pending(booking) => {
            let body = body_of(&state, &booking).await?;
            let location = format!("/bookings/{}", body.id);
            Ok((
                StatusCode::ACCEPTED,
                [(header::LOCATION, location)],
                Json(body),
            )
                .into_response())
        }
        Changed::Refused {
            booking,
            reason,
            alternatives,
        } => {
            // 409 with the reason, the booking as it stays, and where the party fits
            // instead when the refusal is for want of a place.
            let reason = Reason::from(reason);
            let customer = customer_of_booking(&state, &booking).await.ok().flatten();
            Err(ApiError::Conflict {
                detail: format!(
                    "the change cannot be made: {}; the booking is unchanged",
                    reason.name()
                ),
                reason: Some(reason),
                booking: BookingBody::of_booking(&booking, Viewer::Authorized, customer)
                    .map(Box::new),
                alternatives: alternatives
                    .map(|found| found.into_iter().map(AlternativeBody::from).collect()),
            })
        }
    }
}

/// The booking as its holder sees it.
async fn body_of(state: &AppState, booking: &Booking) -> Result<BookingBody, ApiError> {
    let customer = customer_of_booking(state, booking).await?;
    BookingBody::of_booking(booking, Viewer::Authorized, customer)
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("a changed booking is missing")))
}

/// The answer to a change the booking's state refuses.
fn refusal(rejection: BookingRejection) -> ApiError {
    match rejection {
        BookingRejection::NotFound => no_such_booking(),
        BookingRejection::NotConfirmed(status) => ApiError::conflict(format!(
            "only a confirmed booking can be changed; this one is {}",
            status.name()
        )),
        BookingRejection::SlotStarted => {
            ApiError::conflict("the booking's slot has started; it can no longer be changed")
        }
        BookingRejection::ChangePending => ApiError::conflict(
            "another change of this booking is being made; try again once it is decided",
        ),
        BookingRejection::TooManyChanges => ApiError::conflict(format!(
            "the booking was changed {} times already; cancel it and book anew",
            domain::MAX_CHANGES
        )),
        other => ApiError::internal(anyhow::anyhow!("unexpected refusal of a change: {other}")),
    }
}
