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
pub mod tables;

use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{delete, get, post};
use domain::Booking;
use eventstore::Repository;
use service_kit::Secret;

use crate::idempotency::IdempotencyKeys;
use crate::outcomes::Outcomes;
use crate::reads::{ReadError, ReadModels};
use crate::rules::SlotRules;
use crate::table_commands::TableCommands;
use error::ApiError;

/// Largest accepted request body (API.md).
const BODY_LIMIT: usize = 64 * 1024;

/// What the handlers need once NATS is connected.
#[derive(Debug)]
pub struct Backend {
    pub tables: TableCommands,
    pub bookings: Arc<Repository<Booking>>,
    pub outcomes: Arc<Outcomes>,
    pub idempotency: IdempotencyKeys,
    pub reads: Arc<ReadModels>,
}

/// Shared by every request.
#[derive(Debug)]
pub struct AppState {
    /// Set once the service is connected and set up; until then NATS routes answer 503.
    pub backend: OnceLock<Backend>,
    pub admin_token: Secret,
    pub rules: SlotRules,
}

impl AppState {
    pub fn new(admin_token: Secret, rules: SlotRules) -> Self {
        Self {
            backend: OnceLock::new(),
            admin_token,
            rules,
        }
    }

    pub(crate) fn backend(&self) -> Result<&Backend, ApiError> {
        self.backend.get().ok_or_else(|| {
            ApiError::unavailable(anyhow::anyhow!("the booker is not connected to NATS yet"))
        })
    }

    pub(crate) fn reads(&self) -> Result<&ReadModels, ApiError> {
        self.backend().map(|backend| backend.reads.as_ref())
    }
}

impl From<ReadError> for ApiError {
    fn from(error: ReadError) -> Self {
        match error {
            ReadError::NotReady | ReadError::Unavailable { .. } => Self::unavailable(error),
            ReadError::Undecodable { .. } => Self::internal(error),
        }
    }
}

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
