//! [`ApiError`], the one place where outcomes become HTTP statuses, and the
//! `application/problem+json` body (RFC 9457) that every 4xx and 5xx answer carries.
//!
//! Internal failures keep their cause and are logged once, by [`log_failures`], with the
//! request's method and route; the client only ever sees a generic problem.

use std::sync::Arc;

use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

pub use super::reason::Reason;
use super::representation::{AlternativeBody, BookingBody};

/// One bad field of a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Every way a request can fail, kept apart: refusals (4xx), unavailability (503, nothing
/// was written, safe to retry) and internal failures (500). The last two keep their cause.
#[derive(Debug)]
pub enum ApiError {
    /// Malformed or invalid input; each bad field named.
    BadRequest(Vec<FieldError>),
    /// The body is over the limit.
    TooLarge,
    /// Admin route without a valid bearer token.
    Unauthorized,
    /// Wrong or missing access code.
    Forbidden,
    NotFound(&'static str),
    /// Valid, but the current state refuses it; `booking` is the rejected booking, if any,
    /// and `alternatives` where its party fits instead, for a refusal for want of a place.
    Conflict {
        detail: String,
        /// Why a booking or a change was refused (`reason`, API.md v2).
        reason: Option<Reason>,
        booking: Option<Box<BookingBody>>,
        alternatives: Option<Vec<AlternativeBody>>,
    },
    /// The same Idempotency-Key with a different request.
    IdempotencyMismatch,
    /// Too many wrong access codes for this client, booking or email: try again after
    /// this long; the code was not checked.
    TooManyAttempts(std::time::Duration),
    /// NATS or table-manager cannot be reached; nothing was written.
    Unavailable(anyhow::Error),
    /// A store the request must write to has reached its limit; nothing was written.
    Full {
        store: &'static str,
        cause: anyhow::Error,
    },
    /// A bug or an unexpected answer.
    Internal(anyhow::Error),
}

impl ApiError {
    pub fn field(field: &str, message: &str) -> Self {
        Self::BadRequest(vec![FieldError::new(field, message)])
    }

    /// A 409 that says only `detail`.
    pub fn conflict(detail: impl Into<String>) -> Self {
        Self::Conflict {
            detail: detail.into(),
            reason: None,
            booking: None,
            alternatives: None,
        }
    }

    pub fn unavailable(cause: impl Into<anyhow::Error>) -> Self {
        Self::Unavailable(cause.into())
    }

    pub fn full(store: &'static str, cause: impl Into<anyhow::Error>) -> Self {
        Self::Full {
            store,
            cause: cause.into(),
        }
    }

    pub fn internal(cause: impl Into<anyhow::Error>) -> Self {
        Self::Internal(cause.into())
    }
}

/// The problem body of API.md: `type`, `title`, `status`, `detail`, and `errors` for a
/// 400 or the rejected `booking` for a 409 of `POST /bookings`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Problem {
    #[serde(rename = "type")]
    #[schema(value_type = String, example = "about:blank")]
    pub kind: &'static str,
    #[schema(value_type = String, example = "Conflict")]
    pub title: &'static str,
    pub status: u16,
    pub detail: String,
    /// Why a booking or a change was refused (409).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<Reason>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<FieldError>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub booking: Option<Box<BookingBody>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alternatives: Option<Vec<AlternativeBody>>,
}

/// The problems many routes answer, as named responses of the API description (each
/// route lists the ones it can give). Described, never built.
#[allow(dead_code)]
pub mod responses {
    use super::Problem;

    /// 503.
    #[derive(Debug, utoipa::ToResponse)]
    #[response(
        description = "NATS or table-manager cannot be reached; nothing was written, retry",
        content_type = "application/problem+json"
    )]
    pub struct Unavailable(pub Problem);

    /// 429.
    #[derive(Debug, utoipa::ToResponse)]
    #[response(
        description = "too many wrong access codes or admin tokens from this client, for this booking or email; `Retry-After` says when to try again",
        content_type = "application/problem+json"
    )]
    pub struct TooManyAttempts(pub Problem);

    /// 400.
    #[derive(Debug, utoipa::ToResponse)]
    #[response(
        description = "a field is missing or invalid; `errors` names each",
        content_type = "application/problem+json"
    )]
    pub struct BadRequest(pub Problem);

    /// 413.
    #[derive(Debug, utoipa::ToResponse)]
    #[response(
        description = "the body is over 64 KiB",
        content_type = "application/problem+json"
    )]
    pub struct TooLarge(pub Problem);

    /// 401.
    #[derive(Debug, utoipa::ToResponse)]
    #[response(
        description = "no valid admin token",
        content_type = "application/problem+json"
    )]
    pub struct Unauthorized(pub Problem);

    /// 403.
    #[derive(Debug, utoipa::ToResponse)]
    #[response(
        description = "the access code is wrong or missing",
        content_type = "application/problem+json"
    )]
    pub struct Forbidden(pub Problem);
}

impl Problem {
    pub fn new(status: StatusCode, detail: impl Into<String>) -> Self {
        Self {
            kind: "about:blank",
            title: status.canonical_reason().unwrap_or("Error"),
            status: status.as_u16(),
            detail: detail.into(),
            reason: None,
            errors: None,
            booking: None,
            alternatives: None,
        }
    }

    fn with_errors(mut self, errors: Vec<FieldError>) -> Self {
        self.errors = Some(errors);
        self
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        // Serializing plain strings and numbers cannot fail.
        let body = serde_json::to_string(&self).unwrap_or_default();
        (
            status,
            [(header::CONTENT_TYPE, "application/problem+json")],
            body,
        )
            .into_response()
    }
}

/// A failure to log, left in the response's extensions for [`log_failures`].
#[derive(Debug, Clone)]
struct Failure {
    unavailable: bool,
    cause: Arc<anyhow::Error>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let problem = match self {
            Self::BadRequest(errors) => {
                let detail = match errors.as_slice() {
                    [only] => format!("{} {}", only.field, only.message),
                    _ => format!("{} fields are invalid", errors.len()),
                };
                Problem::new(StatusCode::BAD_REQUEST, detail).with_errors(errors)
            }
            Self::TooLarge => Problem::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "the body is larger than 64 KiB",
            )
            .with_errors(vec![FieldError::new("body", "larger than 64 KiB")]),
            Self::Unauthorized => {
                let mut response = Problem::new(
                    StatusCode::UNAUTHORIZED,
                    "a valid `Authorization: Bearer <ADMIN_TOKEN>` header is required",
                )
                .into_response();
                response
                    .headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
                return response;
            }
            Self::Forbidden => Problem::new(
                StatusCode::FORBIDDEN,
                "a valid access code for this booking is required",
            ),
            Self::NotFound(detail) => Problem::new(StatusCode::NOT_FOUND, detail),
            Self::Conflict {
                detail,
                reason,
                booking,
                alternatives,
            } => Problem {
                reason,
                booking,
                alternatives,
                ..Problem::new(StatusCode::CONFLICT, detail)
            },
            Self::IdempotencyMismatch => Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "this Idempotency-Key was used with a different request",
            )
            .with_errors(vec![FieldError::new(
                "Idempotency-Key",
                "already used with a different request",
            )]),
            Self::TooManyAttempts(wait) => {
                let seconds = wait.as_secs().max(1);
                let mut response = Problem::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    format!(
                        "too many wrong access codes; the code was not checked, try again in {seconds} s"
                    ),
                )
                .into_response();
                if let Ok(value) = HeaderValue::from_str(&seconds.to_string()) {
                    response.headers_mut().insert(header::RETRY_AFTER, value);
                }
                return response;
            }
            Self::Unavailable(cause) => {
                let mut response = Problem::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "the booking system is unavailable; nothing was written, retry later",
                )
                .into_response();
                let headers = response.headers_mut();
                headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
                response.extensions_mut().insert(Failure {
                    unavailable: true,
                    cause: Arc::new(cause),
                });
                return response;
            }
            Self::Full { store, cause } => {
                let mut response = Problem::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    format!("{store} is full; nothing was written, retry later"),
                )
                .into_response();
                let headers = response.headers_mut();
                headers.insert(header::RETRY_AFTER, HeaderValue::from_static("30"));
                response.extensions_mut().insert(Failure {
                    unavailable: true,
                    cause: Arc::new(cause),
                });
                return response;
            }
            Self::Internal(cause) => {
                let mut response =
                    Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
                        .into_response();
                response.extensions_mut().insert(Failure {
                    unavailable: false,
                    cause: Arc::new(cause),
                });
                return response;
            }
        };
        problem.into_response()
    }
}

/// Logs each failed request's cause once, with its method and route: a 503 as a warning
/// (NATS or table-manager away), a 500 as an error.
pub async fn log_failures(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let route = request.extensions().get::<MatchedPath>().map_or_else(
        || request.uri().path().to_owned(),
        |p| p.as_str().to_owned(),
    );
    let response = next.run(request).await;
    if let Some(failure) = response.extensions().get::<Failure>() {
        let cause = format!("{:#}", failure.cause);
        if failure.unavailable {
            tracing::warn!(%method, route, cause, "answered 503: unavailable");
        } else {
            tracing::error!(%method, route, cause, "answered 500: internal error");
        }
    }
    response
}

/// Fallback for routes the API does not have.
pub async fn not_found() -> ApiError {
    ApiError::NotFound("no such route")
}

/// Answer for a known route called with another method.
pub async fn method_not_allowed() -> Problem {
    Problem::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "this route does not accept that method",
    )
}
