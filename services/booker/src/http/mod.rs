//! The HTTP edge of docs/contract/API.md, a file per resource: request types that parse into
//! domain values, serde response types, extractors for the admin token, the access code
//! and the body, and one [`ApiError`] whose failures are logged once.

pub mod booking_request;
pub mod bookings;
pub mod change;
pub mod change_request;
pub mod combinations;
pub mod create;
pub mod customer_view;
pub mod customers;
pub mod error;
pub mod extract;
pub mod fields;
pub mod history;
pub mod lookup;
pub mod openapi;
pub mod pages;
mod reason;
pub mod representation;
pub mod slots;
pub mod staff;
pub mod state;
pub mod tables;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{delete, get, post};

pub use state::{AppState, Backend};

/// Largest accepted request body (API.md).
const BODY_LIMIT: usize = 64 * 1024;

/// The paths of the routes below (the API description must describe each).
#[cfg(test)]
const ROUTES: &[&str] = &[
    "/bookings",
    "/booking/initiate",
    "/bookings/lookup",
    "/bookings/{id}",
    "/bookings/{id}/cancel",
    "/bookings/{id}/change",
    "/bookings/{id}/history",
    "/bookings/{id}/customer",
    "/customers/erase",
    "/tables",
    "/tables/{id}",
    "/table-combinations",
    "/table-combinations/{id}",
    "/booking-slots",
    "/read-side",
    "/healthz",
    "/readyz",
    "/metrics",
];

/// Every route of API.md.
pub fn router(state: Arc<AppState>) -> Router {
    // Answers that may carry an access code or a customer's details are never stored by a
    // cache (API.md): every answer of the booking routes, whoever asks.
    let bookings = Router::new()
        .route("/bookings", post(create::create).get(staff::day_sheet))
        .route("/booking/initiate", post(create::create))
        .route("/bookings/lookup", post(lookup::lookup))
        .route("/bookings/{id}", get(bookings::get))
        .route("/bookings/{id}/cancel", post(bookings::cancel))
        .route("/bookings/{id}/change", post(change::change))
        .route("/bookings/{id}/history", get(history::history))
        .route(
            "/bookings/{id}/customer",
            delete(customers::erase_booking_customer),
        )
        .route("/customers/erase", post(customers::erase_customer))
        .route_layer(axum::middleware::map_response(no_store));
    Router::new()
        .route("/tables", post(tables::add).get(tables::list))
        .route("/tables/{id}", delete(tables::remove))
        .route(
            "/table-combinations",
            post(combinations::add).get(combinations::list),
        )
        .route("/table-combinations/{id}", delete(combinations::remove))
        .route("/booking-slots", get(slots::list))
        .route("/read-side", get(staff::read_side))
        .merge(bookings)
        .merge(openapi::routes())
        .merge(pages::routes())
        .fallback(error::not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        .layer(axum::middleware::from_fn(error::log_failures))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(state)
}

async fn no_store(mut response: axum::response::Response) -> axum::response::Response {
    response.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    response
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
