//! The HTTP edge of shared/API.md, a file per resource: request types that parse into
//! domain values, serde response types, extractors for the admin token, the access code
//! and the body, and one [`ApiError`] whose failures are logged once.

pub mod booking_request;
pub mod bookings;
pub mod error;
pub mod extract;
pub mod fields;
pub mod history;
pub mod lookup;
pub mod representation;
pub mod slots;
pub mod state;
pub mod tables;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{delete, get, post};

pub use state::{AppState, Backend};

/// Largest accepted request body (API.md).
const BODY_LIMIT: usize = 64 * 1024;

/// Every route of API.md.
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/tables", post(tables::add).get(tables::list))
        .route("/tables/{id}", delete(tables::remove))
        .route("/booking-slots", get(slots::list))
        .route("/bookings", post(bookings::create))
        .route("/booking/initiate", post(bookings::create))
        .route("/bookings/lookup", post(lookup::lookup))
        .route("/bookings/{id}", get(bookings::get))
        .route("/bookings/{id}/cancel", post(bookings::cancel))
        .route("/bookings/{id}/history", get(history::history))
        .fallback(error::not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        .layer(axum::middleware::from_fn(error::log_failures))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(state)
}

#[cfg(test)]
pub mod testing {
    use super::error::ApiError;

    /// The fields a 400 names, in order.
    pub fn fields(error: ApiError) -> Vec<String> {
        match error {
            ApiError::BadRequest(errors) => errors.into_iter().map(|e| e.field).collect(),
            other => panic!("expected a 400, got {other:?}"),
        }
    }
}
