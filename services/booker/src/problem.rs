//! `application/problem+json` answers (RFC 9457), the only error body the API sends, and
//! [`ApiError`], the one place where outcomes become HTTP statuses.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// One bad field of a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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

/// Every way a request can fail, kept apart: refusals (4xx), unavailability (503, safe to
/// retry) and internal failures (500, logged where they happen).
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
    NotFound(String),
    /// Valid, but the current state refuses it; `booking` is the rejected booking, if any.
    Conflict {
        detail: String,
        booking: Option<serde_json::Value>,
    },
    /// The same Idempotency-Key with a different request.
    IdempotencyMismatch,
    /// NATS or table-manager cannot be reached; nothing was written.
    Unavailable,
    /// A bug or an unexpected answer: already logged with context by the caller.
    Internal,
}

impl ApiError {
    pub fn field(field: &str, message: &str) -> Self {
        Self::BadRequest(vec![FieldError::new(field, message)])
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, detail, extra) = match self {
            Self::BadRequest(errors) => {
                let detail = match errors.as_slice() {
                    [only] => format!("{} {}", only.field, only.message),
                    _ => format!("{} fields are invalid", errors.len()),
                };
                let errors = serde_json::to_value(errors).unwrap_or_default();
                (StatusCode::BAD_REQUEST, detail, Some(("errors", errors)))
            }
            Self::TooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "the body is larger than 64 KiB".to_owned(),
                Some((
                    "errors",
                    serde_json::json!([{"field": "body", "message": "larger than 64 KiB"}]),
                )),
            ),
            Self::Unauthorized => {
                let mut response = problem(
                    StatusCode::UNAUTHORIZED,
                    "a valid `Authorization: Bearer <ADMIN_TOKEN>` header is required",
                    None,
                );
                response
                    .headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
                return response;
            }
            Self::Forbidden => (
                StatusCode::FORBIDDEN,
                "a valid access code for this booking is required".to_owned(),
                None,
            ),
            Self::NotFound(detail) => (StatusCode::NOT_FOUND, detail, None),
            Self::Conflict { detail, booking } => (
                StatusCode::CONFLICT,
                detail,
                booking.map(|booking| ("booking", booking)),
            ),
            Self::IdempotencyMismatch => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "this Idempotency-Key was used with a different request".to_owned(),
                Some((
                    "errors",
                    serde_json::json!([{"field": "Idempotency-Key",
                        "message": "already used with a different request"}]),
                )),
            ),
            Self::Unavailable => {
                let mut response = problem(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "the booking system is unavailable; nothing was written, retry later",
                    None,
                );
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
                return response;
            }
            Self::Internal => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal error".to_owned(),
                None,
            ),
        };
        problem(status, &detail, extra)
    }
}

/// The body of every 4xx/5xx answer, with one optional extension member.
pub fn problem(
    status: StatusCode,
    detail: &str,
    extra: Option<(&str, serde_json::Value)>,
) -> Response {
    let mut body = serde_json::json!({
        "type": "about:blank",
        "title": status.canonical_reason().unwrap_or("Error"),
        "status": status.as_u16(),
        "detail": detail,
    });
    if let (Some((name, value)), Some(map)) = (extra, body.as_object_mut()) {
        map.insert(name.to_owned(), value);
    }
    (
        status,
        [(header::CONTENT_TYPE, "application/problem+json")],
        body.to_string(),
    )
        .into_response()
}

/// Fallback for routes the API does not have.
pub async fn not_found() -> Response {
    ApiError::NotFound("no such route".to_owned()).into_response()
}

/// Answer for a known route called with another method.
pub async fn method_not_allowed() -> Response {
    problem(
        StatusCode::METHOD_NOT_ALLOWED,
        "this route does not accept that method",
        None,
    )
}
