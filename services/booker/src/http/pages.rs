//! The pages for people (API.md "People-facing pages"): the guest page `/` and the staff
//! page `/staff`, plain HTML, CSS and JavaScript compiled into the binary, calling the
//! API from the browser. No asset comes from anywhere else (the Content-Security-Policy
//! says so to the browser).

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::error::ApiError;
use super::state::AppState;

const GUEST: &str = include_str!("../../pages/guest.html");
const STAFF: &str = include_str!("../../pages/staff.html");

/// The assets the pages load, by name: (content, content type).
const ASSETS: &[(&str, &str, &str)] = &[
    (
        "style.css",
        include_str!("../../pages/style.css"),
        "text/css; charset=utf-8",
    ),
    (
        "common.js",
        include_str!("../../pages/common.js"),
        "text/javascript; charset=utf-8",
    ),
    (
        "guest.js",
        include_str!("../../pages/guest.js"),
        "text/javascript; charset=utf-8",
    ),
    (
        "staff.js",
        include_str!("../../pages/staff.js"),
        "text/javascript; charset=utf-8",
    ),
];

/// Everything from this server, nothing inline, no framing.
const POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
    connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// `/`, `/staff` and `/assets/{name}`.
pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/", get(guest))
        .route("/staff", get(staff))
        .route("/assets/{name}", get(asset))
}

async fn guest(State(state): State<Arc<AppState>>) -> Response {
    page(GUEST, &state)
}

async fn staff(State(state): State<Arc<AppState>>) -> Response {
    page(STAFF, &state)
}

/// A page with the restaurant's time zone filled in.
fn page(template: &str, state: &AppState) -> Response {
    let zone = state.rules.zone.iana_name().unwrap_or("UTC");
    let html = template.replace("{{TIMEZONE}}", zone);
    let mut response = ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(POLICY),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

async fn asset(Path(name): Path<String>) -> Response {
    match ASSETS.iter().find(|(asset, _, _)| *asset == name) {
        Some((_, content, kind)) => (
            [
                (header::CONTENT_TYPE, *kind),
                (header::CACHE_CONTROL, "no-cache"),
            ],
            *content,
        )
            .into_response(),
        None => ApiError::NotFound("no such asset").into_response(),
    }
}
