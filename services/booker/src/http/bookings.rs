//! `/bookings`: a customer books a table for a slot, reads the booking, cancels it.

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use domain::{Aggregate as _, Booking, BookingCommand, BookingRejection};
use events::read_model::{BookingView, Key};
use events::{
    AccessCodeDigest, BookingId, BookingStatus, CancellationCause, Customer, RejectionReason,
    TableBookingInitiated,
};
use eventstore::{AppendContext, ExecuteError};
use jiff::Timestamp;

use super::booking_request::BookingRequestBody;
use super::customer_view::{customer_of, customer_of_booking};
use super::error::ApiError;
use super::extract::{Body, Caller, IdempotencyKey, QueryPairs};
use super::fields::json_body;
use super::representation::{BookingBody, Viewer};
use super::state::AppState;
use crate::access::AccessCode;
use crate::guard::Scope;
use crate::idempotency::{Claim, IdempotencyError};
use crate::saga;

/// Parses the `wait` query parameter: whole seconds, 0 to 30, default 5.
fn wait_seconds(raw: Option<&str>) -> Result<u64, ApiError> {
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

/// `POST /bookings` and `POST /booking/initiate`.
#[tracing::instrument(skip_all, fields(booking_id))]
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
    // A table that was never added is refused here, in the booking's first write, rather
    // than by table-manager: made-up ids never queue ahead of real bookings (ADR 0020).
    let unknown_table = !backend
        .known_tables
        .exists(&request.table_id)
        .await
        .map_err(ApiError::unavailable)?;
    // The customer is kept only sealed with the booking's own key (ADR 0024).
    let sealed = match &request.customer {
        Some(customer) => Some(backend.customers.seal(id, customer).await?),
        None => None,
    };
    let initiated = TableBookingInitiated {
        id,
        table_id: Some(request.table_id.clone()),
        table_ids: vec![request.table_id],
        combination_id: None,
        assigned: false,
        time_slot: request.time_slot,
        people: request.people,
        customer: None,
        access_code_digest: claim.access_code.digest(&state.keys, id),
        unknown_table,
        sealed_customer: sealed.as_ref().map(|s| s.customer.clone()),
        email_digest: sealed.map(|s| s.email_digest),
    };
    // Registered before the append, so the outcome cannot pass unseen.
    let mut waiter = (wait > 0).then(|| backend.outcomes.register(id));
    let context = AppendContext::for_request("initiate", id.as_uuid(), id.into());
    let command = BookingCommand::Initiate(initiated);
    let executed = if replayable {
        backend.bookings.execute(&id, &command, &context).await
    } else {
        backend.bookings.execute_new(&id, &command, &context).await
    };
    let mut booking = match executed {
        Ok(executed) if unknown_table => {
            // Decided already: rejected now rather than by a consumer (ADR 0020). Should
            // this append fail, the timeouts consumer rejects it and the answer is 202.
            let initiated = context.command_id.event_id(0);
            match saga::refuse_unknown_table(&backend.bookings, id, initiated).await {
                Ok(rejected) => rejected.state,
                Err(error) => {
                    tracing::warn!(%error, "the booking of an unknown table is left to the timeouts consumer");
                    executed.state
                }
            }
        }
        Ok(executed) => executed.state,
        // Only an idempotent replay can meet an existing booking id.
        Err(ExecuteError::Rejected(_)) => return Err(ApiError::IdempotencyMismatch),
        Err(error) => return Err(store_failure(error)),
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
    created(&booking, &claim.access_code, request.customer)
}

/// 201 confirmed (or cancelled meanwhile), 202 still pending, 409 rejected; `customer` as
/// the request gave it.
fn created(
    booking: &Booking,
    code: &AccessCode,
    customer: Option<Customer>,
) -> Result<Response, ApiError> {
    let body = BookingBody::of_booking(booking, Viewer::Creator(code), customer.clone())
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("a booking just made is missing")))?;
    Ok(match body.status {
        BookingStatus::Rejected => {
            let reason = body.reason.map_or("rejected", RejectionReason::name);
            return Err(ApiError::Conflict {
                detail: format!("the booking was rejected: {reason}"),
                booking: BookingBody::of_booking(booking, Viewer::Authorized, customer)
                    .map(Box::new),
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

/// `GET /bookings/{id}`: the customer only to the admin or with the access code; the
/// access code never.
#[tracing::instrument(skip_all, fields(booking_id = %raw_id))]
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
pub async fn cancel(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(raw_id): Path<String>,
    body: Body,
) -> Result<Json<BookingBody>, ApiError> {
    let caller = caller.with_code_of(&body)?;
    let id = booking_id(&raw_id)?;
    let backend = state.backend()?;
    let (booking, _) = backend
        .bookings
        .load(&id)
        .await
        .map_err(|e| store_failure(ExecuteError::<BookingRejection>::Load(e)))?;
    let Some(request) = &booking.request else {
        return Err(no_such_booking());
    };
    let cause = if caller.admin {
        CancellationCause::Admin
    } else if caller
        .authorized(&state, id, &request.access_code_digest)
        .await?
    {
        CancellationCause::Customer
    } else {
        return Err(ApiError::Forbidden);
    };
    let command = BookingCommand::Cancel {
        cause,
        now: Timestamp::now(),
    };
    let context = AppendContext::unique("cancel", id.into());
    match backend.bookings.execute(&id, &command, &context).await {
        Ok(executed) => {
            let customer = customer_of_booking(&state, &executed.state).await?;
            BookingBody::of_booking(&executed.state, Viewer::Authorized, customer)
        }
        .map(Json)
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("a cancelled booking is missing"))),
        Err(ExecuteError::Rejected(rejection)) => Err(match rejection {
            BookingRejection::NotFound => no_such_booking(),
            BookingRejection::AlreadyRejected => ApiError::Conflict {
                detail: "the booking was rejected; there is nothing to cancel".to_owned(),
                booking: None,
            },
            BookingRejection::SlotStarted => ApiError::Conflict {
                detail: "the booking's slot has started; it can no longer be cancelled".to_owned(),
                booking: None,
            },
            other => ApiError::internal(anyhow::anyhow!(
                "unexpected refusal of a cancellation: {other}"
            )),
        }),
        Err(error) => Err(store_failure(error)),
    }
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
