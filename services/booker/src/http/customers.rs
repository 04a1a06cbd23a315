//! A booking's customer: shown unsealed to those who may see it, and erased on request
//! (`DELETE /bookings/{id}/customer`, `POST /customers/erase`; ADR 0024).

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use domain::BookingRejection;
use eventstore::ExecuteError;
use serde::{Deserialize, Serialize};

use super::bookings::{booking_id, no_such_booking, store_failure};
use super::error::ApiError;
use super::extract::{Admin, Body, Caller};
use super::fields::{Errors, Field, json_body};
use super::representation::{BookingBody, Viewer};
use super::state::AppState;
use crate::http::booking_request::MAX_EMAIL;
use crate::use_cases::erase::{Erase, EraseError};
use crate::use_cases::lookup::Directory;

/// `DELETE /bookings/{id}/customer`: with the booking's access code or the admin token.
#[tracing::instrument(skip_all, fields(booking_id = %raw_id))]
#[utoipa::path(
    delete,
    path = "/bookings/{id}/customer",
    tag = "personal data",
    summary = "Erase a booking's customer (right to be forgotten)",
    params(
        ("id" = String, Path, description = "the booking's id (a UUID)"),
        ("X-Access-Code" = Option<String>, Header, description = "the booking's access code (or in the body, or the admin token)"),
    ),
    security(("access_code" = []), ("admin_token" = [])),
    responses(
        (status = 200, description = "the booking with `customer: null` and `customerErased: true`", body = crate::http::representation::BookingBody),
        (status = 400, response = crate::http::error::responses::BadRequest),
        (status = 403, response = crate::http::error::responses::Forbidden),
        (status = 404, description = "no such booking", body = crate::http::error::Problem, content_type = "application/problem+json"),
        (status = 429, response = crate::http::error::responses::TooManyAttempts),
        (status = 503, response = crate::http::error::responses::Unavailable),
    )
)]
pub async fn erase_booking_customer(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(raw_id): Path<String>,
    body: Body,
) -> Result<Json<BookingBody>, ApiError> {
    let caller = caller.with_code_of(&body)?;
    let id = booking_id(&raw_id)?;
    let backend = state.backend()?;
    let erase = Erase {
        bookings: &backend.bookings,
        keys: &backend.customers,
    };
    let booking = erase.stored(id).await.map_err(store_failure)?;
    let Some(request) = &booking.request else {
        return Err(no_such_booking());
    };
    if !caller
        .authorized(&state, id, &request.access_code_digest)
        .await?
    {
        return Err(ApiError::Forbidden);
    }
    let erased = erase.erase(id).await?;
    BookingBody::of_booking(&erased, Viewer::Authorized, None)
        .map(Json)
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("an erased booking is missing")))
}

/// The body of `POST /customers/erase`.
#[derive(Debug, Default, Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(default)]
pub struct EraseCustomerRequest {
    #[schema(value_type = String, required = true, min_length = 1, max_length = 254, example = "ada@example.com")]
    pub email: Field<String>,
}

/// The 200 body of `POST /customers/erase`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ErasedBody {
    pub erased_bookings: usize,
}

/// `POST /customers/erase`: every booking made with the email (matched as `lookup`
/// matches it), admin only.
#[utoipa::path(
    post,
    path = "/customers/erase",
    tag = "personal data",
    summary = "Erase every booking's customer of an email",
    request_body = EraseCustomerRequest,
    security(("admin_token" = [])),
    responses(
        (status = 200, description = "how many bookings were erased", body = ErasedBody),
        (status = 400, response = crate::http::error::responses::BadRequest),
        (status = 401, response = crate::http::error::responses::Unauthorized),
        (status = 413, response = crate::http::error::responses::TooLarge),
        (status = 429, response = crate::http::error::responses::TooManyAttempts),
        (status = 503, response = crate::http::error::responses::Unavailable),
    )
)]
pub async fn erase_customer(
    State(state): State<Arc<AppState>>,
    _admin: Admin,
    Body(body): Body,
) -> Result<Json<ErasedBody>, ApiError> {
    let request = json_body::<EraseCustomerRequest>(&body)?;
    let mut errors = Errors::default();
    let rule = format!("must be a non-empty string of at most {MAX_EMAIL} characters");
    let email = errors.required("email", request.email, "is required", &rule, |email| {
        let email = email.trim();
        if email.is_empty() || email.chars().count() > MAX_EMAIL {
            Err(rule.clone())
        } else {
            Ok(email.to_owned())
        }
    });
    let email = errors.finish(|| email)?;
    let backend = state.backend()?;
    let ids = backend.directory().located(&email).await?;
    let erase = Erase {
        bookings: &backend.bookings,
        keys: &backend.customers,
    };
    let erased = erase
        .erase_all(ids.into_iter().map(|(id, _)| id).collect())
        .await?;
    Ok(Json(ErasedBody {
        erased_bookings: erased,
    }))
}

impl From<EraseError> for ApiError {
    fn from(error: EraseError) -> Self {
        match error {
            EraseError::Key(error) => error.into(),
            EraseError::Booking(ExecuteError::Rejected(BookingRejection::NotFound)) => {
                no_such_booking()
            }
            EraseError::Booking(error) => store_failure(error),
        }
    }
}
