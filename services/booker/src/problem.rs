//! `application/problem+json` answers (RFC 9457), the only error body the API sends.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

/// The body of every 4xx/5xx answer.
pub fn problem(status: StatusCode, detail: &str) -> Response {
    let body = serde_json::json!({
        "type": "about:blank",
        "title": status.canonical_reason().unwrap_or("Error"),
        "status": status.as_u16(),
        "detail": detail,
    });
    (
        status,
        [(header::CONTENT_TYPE, "application/problem+json")],
        body.to_string(),
    )
        .into_response()
}

/// Fallback for routes the API does not have.
pub async fn not_found() -> Response {
    problem(StatusCode::NOT_FOUND, "no such route")
}
