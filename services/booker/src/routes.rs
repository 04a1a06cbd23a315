//! The write routes of API.md. Each handler validates at the edge, runs one command, and
//! maps the outcome through [`ApiError`].

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use async_nats::Client;
use async_nats::client::RequestErrorKind;
use axum::Json;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use domain::{Aggregate as _, Booking, BookingCommand, BookingRejection};
use events::{
    AddTable, BookingId, BookingStatus, CancellationCause, RemoveTable, TableBookingInitiated,
    TableCommandRefusal, TableCommandReply, names,
};
use eventstore::{AppendContext, ExecuteError, Repository};
use serde::Serialize;
use serde_json::json;
use service_kit::Secret;

use crate::access::{self, AccessCode};
use crate::idempotency::{Claim, IdempotencyKeys};
use crate::input::{self, SlotRules};
use crate::outcomes::Outcomes;
use crate::problem::ApiError;
use crate::reads::ReadModels;
use crate::view::{self, Viewer};

/// How long the gateway waits for table-manager to answer a table command.
const TABLE_COMMAND_TIMEOUT: Duration = Duration::from_secs(5);

/// What the handlers need once NATS is connected.
#[derive(Debug)]
pub struct Backend {
    pub client: Client,
    pub bookings: Arc<Repository<Booking>>,
    pub outcomes: Arc<Outcomes>,
    pub idempotency: IdempotencyKeys,
    pub reads: Arc<ReadModels>,
}

/// Shared by every request.
#[derive(Debug)]
pub struct AppState {
    /// Set once the service is connected and set up; until then writes answer 503.
    pub backend: OnceLock<Backend>,
    pub admin_token: Secret,
    pub rules: SlotRules,
}

impl AppState {
    pub(crate) fn backend(&self) -> Result<&Backend, ApiError> {
        self.backend.get().ok_or(ApiError::Unavailable)
    }

    pub(crate) fn is_admin(&self, headers: &HeaderMap) -> bool {
        headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "))
            .is_some_and(|token| access::secrets_equal(token.trim(), self.admin_token.expose()))
    }

    fn require_admin(&self, headers: &HeaderMap) -> Result<(), ApiError> {
        if self.is_admin(headers) {
            Ok(())
        } else {
            Err(ApiError::Unauthorized)
        }
    }
}

type Shared = State<Arc<AppState>>;

/// The body, or a problem for a body that is too large or cannot be read.
pub(crate) fn body(body: Result<Bytes, BytesRejection>) -> Result<Bytes, ApiError> {
    body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::TooLarge
        } else {
            ApiError::field("body", "cannot be read")
        }
    })
}

/// `POST /tables`.
pub async fn add_table(
    State(state): Shared,
    headers: HeaderMap,
    raw: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    state.require_admin(&headers)?;
    let table = input::new_table(&body(raw)?)?;
    let backend = state.backend()?;
    let command = AddTable {
        command_id: uuid::Uuid::now_v7(),
        id: table.id,
        seats: table.seats,
    };
    match table_command(&backend.client, names::ADD_TABLE_COMMAND, &command).await? {
        TableCommandReply::Done { id, seats } => Ok((
            StatusCode::CREATED,
            Json(json!({"id": id.as_str(), "seats": seats.unwrap_or(command.seats).get()})),
        )
            .into_response()),
        reply => Err(refused(reply)),
    }
}

/// `DELETE /tables/{id}`.
pub async fn remove_table(
    State(state): Shared,
    headers: HeaderMap,
    Path(raw_id): Path<String>,
) -> Result<Response, ApiError> {
    state.require_admin(&headers)?;
    let id = input::table_id_param(&raw_id)?;
    let backend = state.backend()?;
    let command = RemoveTable {
        command_id: uuid::Uuid::now_v7(),
        id,
    };
    match table_command(&backend.client, names::REMOVE_TABLE_COMMAND, &command).await? {
        TableCommandReply::Done { id, .. } => Ok(Json(json!({"id": id.as_str()})).into_response()),
        reply => Err(refused(reply)),
    }
}

fn refused(reply: TableCommandReply) -> ApiError {
    match reply {
        TableCommandReply::Refused { reason, detail } => match reason {
            TableCommandRefusal::AlreadyExists | TableCommandRefusal::Locked => {
                ApiError::Conflict {
                    detail,
                    booking: None,
                }
            }
            TableCommandRefusal::NotFound => ApiError::NotFound(detail),
            TableCommandRefusal::Invalid => {
                tracing::error!(detail, "table-manager could not decode a table command");
                ApiError::Internal
            }
        },
        TableCommandReply::Failed { detail } => {
            tracing::warn!(detail, "table-manager could not run a table command");
            ApiError::Unavailable
        }
        TableCommandReply::Done { .. } => ApiError::Internal,
    }
}

/// Sends a table command to table-manager and decodes its reply.
async fn table_command<C: Serialize>(
    client: &Client,
    subject: &'static str,
    command: &C,
) -> Result<TableCommandReply, ApiError> {
    let payload = serde_json::to_vec(command).map_err(|e| {
        tracing::error!(error = %e, subject, "cannot encode a table command");
        ApiError::Internal
    })?;
    let request = client.request(subject, payload.into());
    let reply = match tokio::time::timeout(TABLE_COMMAND_TIMEOUT, request).await {
        Ok(Ok(reply)) => reply,
        Ok(Err(error)) => {
            match error.kind() {
                RequestErrorKind::NoResponders => {
                    tracing::warn!(subject, "no table-manager is running");
                }
                _ => tracing::warn!(subject, %error, "table command failed"),
            }
            return Err(ApiError::Unavailable);
        }
        Err(_) => {
            tracing::warn!(subject, "table-manager did not answer in time");
            return Err(ApiError::Unavailable);
        }
    };
    serde_json::from_slice(&reply.payload).map_err(|e| {
        tracing::error!(error = %e, subject, "undecodable reply from table-manager");
        ApiError::Internal
    })
}

/// `POST /bookings` and `POST /booking/initiate`.
#[tracing::instrument(skip_all, fields(booking_id))]
pub async fn create_booking(
    State(state): Shared,
    headers: HeaderMap,
    query: Result<Query<HashMap<String, String>>, axum::extract::rejection::QueryRejection>,
    raw: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let now = jiff::Timestamp::now();
    let query = query.map_err(|_| ApiError::field("query", "is not a valid query string"))?;
    let wait = input::wait_seconds(query.get("wait").map(String::as_str))?;
    let key = headers
        .get("idempotency-key")
        .map(|value| input::idempotency_key(value.as_bytes()))
        .transpose()?;
    let request = input::booking_request(&body(raw)?, &state.rules, now)?;
    let backend = state.backend()?;

    // A key may stand for a booking made earlier; a fresh random id is surely new.
    let replayable = key.is_some();
    let claim = match key {
        Some(key) => backend.idempotency.claim(key, &request).await?,
        None => Claim::fresh()?,
    };
    let id = claim.booking_id;
    tracing::Span::current().record("booking_id", tracing::field::display(id));
    let initiated = TableBookingInitiated {
        id,
        table_id: request.table_id,
        time_slot: request.time_slot,
        people: request.people,
        customer: request.customer,
        access_code_digest: claim.access_code.digest(id),
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
        Ok(executed) => executed.state,
        // Only an idempotent replay can meet an existing booking id.
        Err(ExecuteError::Rejected(_)) => return Err(ApiError::IdempotencyMismatch),
        Err(error) => return Err(store_failure(&error)),
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
    booking_response(&booking, &claim.access_code)
}

fn booking_response(booking: &Booking, code: &AccessCode) -> Result<Response, ApiError> {
    let id = booking
        .request
        .as_ref()
        .map(|r| r.id)
        .ok_or(ApiError::Internal)?;
    let body = view::booking(booking, Viewer::Creator(code)).ok_or(ApiError::Internal)?;
    Ok(match booking.status.unwrap_or(BookingStatus::Initiated) {
        BookingStatus::Rejected => {
            let reason = body
                .get("reason")
                .and_then(|r| r.as_str())
                .unwrap_or("rejected");
            return Err(ApiError::Conflict {
                detail: format!("the booking was rejected: {reason}"),
                booking: view::booking(booking, Viewer::Authorized),
            });
        }
        BookingStatus::Initiated => (
            StatusCode::ACCEPTED,
            [(header::LOCATION, format!("/bookings/{id}"))],
            Json(body),
        )
            .into_response(),
        BookingStatus::Confirmed | BookingStatus::Cancelled => {
            (StatusCode::CREATED, Json(body)).into_response()
        }
    })
}

/// `POST /bookings/{id}/cancel`.
#[tracing::instrument(skip_all, fields(booking_id = %raw_id))]
pub async fn cancel_booking(
    State(state): Shared,
    headers: HeaderMap,
    Path(raw_id): Path<String>,
    raw: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let not_found = || ApiError::NotFound("no such booking".to_owned());
    let raw = body(raw)?;
    let code = access_code(&headers, &raw)?;
    let id = BookingId::parse(&raw_id).map_err(|_| not_found())?;
    let backend = state.backend()?;
    let (booking, _) = backend
        .bookings
        .load(&id)
        .await
        .map_err(|e| store_failure(&ExecuteError::<BookingRejection>::Load(e)))?;
    let Some(request) = &booking.request else {
        return Err(not_found());
    };
    let cause = if state.is_admin(&headers) {
        CancellationCause::Admin
    } else if code.is_some_and(|code| code.matches(id, &request.access_code_digest)) {
        CancellationCause::Customer
    } else {
        return Err(ApiError::Forbidden);
    };
    let command = BookingCommand::Cancel {
        cause,
        now: jiff::Timestamp::now(),
    };
    let context = AppendContext::unique("cancel", id.into());
    match backend.bookings.execute(&id, &command, &context).await {
        Ok(executed) => {
            let body =
                view::booking(&executed.state, Viewer::Authorized).ok_or(ApiError::Internal)?;
            Ok(Json(body).into_response())
        }
        Err(ExecuteError::Rejected(rejection)) => Err(match rejection {
            BookingRejection::NotFound => not_found(),
            BookingRejection::AlreadyRejected => ApiError::Conflict {
                detail: "the booking was rejected; there is nothing to cancel".to_owned(),
                booking: None,
            },
            BookingRejection::SlotStarted => ApiError::Conflict {
                detail: "the booking's slot has started; it can no longer be cancelled".to_owned(),
                booking: None,
            },
            other => {
                tracing::error!(%other, "unexpected refusal of a cancellation");
                ApiError::Internal
            }
        }),
        Err(error) => Err(store_failure(&error)),
    }
}

/// The access code from the body (`accessCode`) or the `X-Access-Code` header.
fn access_code(headers: &HeaderMap, body: &[u8]) -> Result<Option<AccessCode>, ApiError> {
    if !body.iter().all(u8::is_ascii_whitespace) {
        let map = input::json_object(body)?;
        match map.get("accessCode") {
            None | Some(serde_json::Value::Null) => {}
            Some(serde_json::Value::String(code)) => return Ok(Some(AccessCode::from_input(code))),
            Some(_) => return Err(ApiError::field("accessCode", "must be a string")),
        }
    }
    Ok(header_access_code(headers))
}

/// The access code of the `X-Access-Code` header, if any.
pub(crate) fn header_access_code(headers: &HeaderMap) -> Option<AccessCode> {
    headers
        .get("x-access-code")
        .and_then(|value| value.to_str().ok())
        .map(AccessCode::from_input)
}

/// A command that could not be run: 503 when the store is unreachable or contended (the
/// request may be retried), 500 for anything else. Logged here, once.
fn store_failure<R: std::error::Error>(error: &ExecuteError<R>) -> ApiError {
    match error {
        ExecuteError::Load(_) | ExecuteError::Conflict { .. } => {
            tracing::warn!(%error, "event store unavailable or contended");
            ApiError::Unavailable
        }
        ExecuteError::Append(eventstore::AppendError::Unavailable(_)) => {
            tracing::warn!(%error, "event store unavailable");
            ApiError::Unavailable
        }
        _ => {
            tracing::error!(%error, "command failed");
            ApiError::Internal
        }
    }
}
