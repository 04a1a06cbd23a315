//! `/bookings/{id}`: a guest reads a booking and cancels it (booking one: `create.rs`).

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use domain::{Booking, BookingRejection};
use events::read_model::{BookingView, Key};
use events::{AccessCodeDigest, BookingId, CancellationCause};
use eventstore::ExecuteError;
use jiff::Timestamp;

use super::customer_view::{customer_of, customer_of_booking};
use super::error::ApiError;
use super::extract::{Body, Caller};
use super::representation::{BookingBody, Viewer};
use super::state::AppState;
use crate::edge::guard::Scope;
use crate::use_cases::cancel::Cancel;

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

/// `GET /bookings/{id}`: the customer only to the admin or with the access code; the
/// access code never.
#[tracing::instrument(skip_all, fields(booking_id = %raw_id))]
#[utoipa::path(
    get,
    path = "/bookings/{id}",
    tag = "bookings",
    summary = "A booking (customer details with its code or the admin token)",
    params(
        ("id" = String, Path, description = "the booking's id (a UUID)"),
        ("X-Access-Code" = Option<String>, Header, description = "the booking's access code (or in the body, or the admin token)"),
    ),
    security((), ("access_code" = []), ("admin_token" = [])),
    responses(
        (status = 200, description = "the booking", body = crate::http::representation::BookingBody),
        (status = 404, description = "no such booking", body = crate::http::error::Problem, content_type = "application/problem+json"),
        (status = 429, response = crate::http::error::responses::TooManyAttempts),
        (status = 503, response = crate::http::error::responses::Unavailable),
    )
)]
pub async fn get(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(raw_id): Path<String>,
) -> Result<Json<BookingBody>, ApiError> {
    let id = booking_id(&raw_id)?;
    let booking = find(&state, id).await?;
    let viewer = if caller
        .authorized(&state, id, &booking.access_code_digest)
        .await?
    {
        Viewer::Authorized
    } else {
        Viewer::Public
    };
    let customer = match viewer {
        Viewer::Public => None,
        _ => {
            let sealed = booking.sealed_customer.as_deref();
            customer_of(&state, id, sealed, booking.customer.as_ref()).await?
        }
    };
    Ok(Json(BookingBody::of_view(&booking, viewer, customer)))
}

/// `POST /bookings/{id}/cancel`.
#[tracing::instrument(skip_all, fields(booking_id = %raw_id))]
#[utoipa::path(
    post,
    path = "/bookings/{id}/cancel",
    tag = "bookings",
    summary = "Cancel a booking",
    params(
        ("id" = String, Path, description = "the booking's id (a UUID)"),
        ("X-Access-Code" = Option<String>, Header, description = "the booking's access code (or in the body, or the admin token)"),
    ),
    request_body = Option<crate::http::extract::CodeBody>,
    security(("access_code" = []), ("admin_token" = [])),
    responses(
        (status = 200, description = "the booking, cancelled", body = crate::http::representation::BookingBody),
        (status = 400, response = crate::http::error::responses::BadRequest),
        (status = 403, response = crate::http::error::responses::Forbidden),
        (status = 404, description = "no such booking", body = crate::http::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "already rejected, or its slot has started", body = crate::http::error::Problem, content_type = "application/problem+json"),
        (status = 413, response = crate::http::error::responses::TooLarge),
        (status = 429, response = crate::http::error::responses::TooManyAttempts),
        (status = 503, response = crate::http::error::responses::Unavailable),
    )
)]
pub async fn cancel(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(raw_id): Path<String>,
    body: Body,
) -> Result<Json<BookingBody>, ApiError> {
    let caller = caller.with_code_of(&body)?;
    let id = booking_id(&raw_id)?;
    let backend = state.backend()?;
    let (_, cause) = load_for(&state, &caller, id, false).await?;
    let cancel = Cancel {
        bookings: &backend.bookings,
        claims: &backend.claims,
    };
    match cancel.cancel(id, cause, Timestamp::now()).await {
        Ok(booking) => {
            let customer = customer_of_booking(&state, &booking).await?;
            BookingBody::of_booking(&booking, Viewer::Authorized, customer)
        }
        .map(Json)
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("a cancelled booking is missing"))),
        Err(ExecuteError::Rejected(rejection)) => Err(match rejection {
            BookingRejection::NotFound => no_such_booking(),
            BookingRejection::AlreadyRejected => {
                ApiError::conflict("the booking was rejected; there is nothing to cancel")
            }
            BookingRejection::SlotStarted => {
                ApiError::conflict("the booking's slot has started; it can no longer be cancelled")
            }
            other => ApiError::internal(anyhow::anyhow!(
                "unexpected refusal of a cancellation: {other}"
            )),
        }),
        Err(error) => Err(store_failure(error)),
    }
}

/// The booking `id` as the write side has it (as the stream's leader has it when
/// `fresh`), and who acts on it: staff with the admin token, or the customer with its
/// access code. 404 for no booking, 403 for neither.
pub(super) async fn load_for(
    state: &AppState,
    caller: &Caller,
    id: BookingId,
    fresh: bool,
) -> Result<(Booking, CancellationCause), ApiError> {
    let bookings = &state.backend()?.bookings;
    let loaded = if fresh {
        bookings.load_fresh(&id).await
    } else {
        bookings.load(&id).await
    };
    let (booking, _) =
        loaded.map_err(|e| store_failure(ExecuteError::<BookingRejection>::Load(e)))?;
    let Some(request) = &booking.request else {
        return Err(no_such_booking());
    };
    let cause = if caller.admin {
        CancellationCause::Admin
    } else if caller
        .authorized(state, id, &request.access_code_digest)
        .await?
    {
        CancellationCause::Customer
    } else {
        return Err(ApiError::Forbidden);
    };
    Ok((booking, cause))
}

pub fn no_such_booking() -> ApiError {
    ApiError::NotFound("no such booking")
}

/// A booking id from the path; anything but a UUID is no booking.
pub fn booking_id(raw: &str) -> Result<BookingId, ApiError> {
    BookingId::parse(raw).map_err(|_| no_such_booking())
}

/// The projected booking, or 404.
pub async fn find(state: &AppState, id: BookingId) -> Result<BookingView, ApiError> {
    state
        .reads()?
        .get::<BookingView>(&Key::Booking(id))
        .await?
        .ok_or_else(no_such_booking)
}

/// A command that could not be run: 503 when the store is unreachable or contended (the
/// request may be retried), 500 for anything else.
pub(crate) fn store_failure<R: std::error::Error + Send + Sync + 'static>(
    error: ExecuteError<R>,
) -> ApiError {
    match &error {
        ExecuteError::Load(_)
        | ExecuteError::Conflict { .. }
        | ExecuteError::Append(eventstore::AppendError::Unavailable(_)) => {
            ApiError::unavailable(error)
        }
        _ => ApiError::internal(error),
    }
}

impl Caller {
    /// Whether the caller may act on the booking `id` whose code digest is `digest`: the
    /// admin, or the holder of its access code. A code is checked only while the client
    /// and the booking are under their guessing limits (429 otherwise), and a wrong one
    /// counts against both.
    pub async fn authorized(
        &self,
        state: &AppState,
        id: BookingId,
        digest: &AccessCodeDigest,
    ) -> Result<bool, ApiError> {
        if self.admin {
            return Ok(true);
        }
        let Some(code) = &self.code else {
            return Ok(false);
        };
        let scopes = [Scope::Client(self.client), Scope::Booking(id)];
        let guard = &state.backend()?.guard;
        let matches = || code.matches(&state.keys, id, digest);
        Ok(guard.attempt(&scopes, matches).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::testing::fields;

    #[test]
    fn wait_is_whole_seconds_from_zero_to_thirty_and_five_by_default() {
        assert_eq!(wait_seconds(None).ok(), Some(5));
        assert_eq!(wait_seconds(Some("0")).ok(), Some(0));
        assert_eq!(wait_seconds(Some(" 30 ")).ok(), Some(30));
        for bad in ["31", "-1", "1.5", "soon", ""] {
            let error = wait_seconds(Some(bad)).expect_err(bad);
            assert_eq!(fields(error), ["wait"], "{bad}");
        }
    }

    #[test]
    fn an_id_that_is_not_a_uuid_is_no_booking() {
        assert!(matches!(booking_id("t1"), Err(ApiError::NotFound(_))));
        assert!(booking_id("0193f0b4-7c1e-7000-8000-000000000001").is_ok());
    }
}
