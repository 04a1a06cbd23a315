//! `POST /bookings/lookup`: a customer finds their booking with their email and access
//! code.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use serde::Deserialize;

use super::customer_view::customer_of;
use super::error::ApiError;
use super::extract::{Body, Caller};
use super::fields::{Errors, Field, json_body};
use super::representation::{BookingBody, Viewer};
use super::state::AppState;
use crate::edge::access::AccessCode;
use crate::http::booking_request::MAX_EMAIL;
use crate::use_cases::lookup::{Lookup, LookupError};

/// Longest access code looked at (a real one has 5 characters).
const MAX_CODE: usize = 64;

/// The body of `POST /bookings/lookup`.
#[derive(Debug, Default, Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct LookupRequest {
    #[schema(value_type = String, required = true, min_length = 1, max_length = 254, example = "ada@example.com")]
    pub email: Field<String>,
    #[schema(value_type = String, required = true, min_length = 1, max_length = 64, example = "K7QX2")]
    pub access_code: Field<String>,
}

impl LookupRequest {
    /// The email and the code, both required, trimmed.
    pub fn parse(self) -> Result<(String, AccessCode), ApiError> {
        let mut errors = Errors::default();
        let mut text = |name: &str, field: Field<String>, max: usize| {
            let rule = format!("must be a non-empty string of at most {max} characters");
            errors.required(name, field, "is required", &rule, |value| {
                let value = value.trim();
                if value.is_empty() || value.chars().count() > max {
                    Err(rule.clone())
                } else {
                    Ok(value.to_owned())
                }
            })
        };
        let email = text("email", self.email, MAX_EMAIL);
        let code = text("accessCode", self.access_code, MAX_CODE);
        errors.finish(|| Some((email?, AccessCode::from_input(&code?))))
    }
}

/// `POST /bookings/lookup`: the booking made with this email and access code. A wrong
/// code and an unknown email get the same 404, after the same work.
#[utoipa::path(
    post,
    path = "/bookings/lookup",
    tag = "bookings",
    summary = "Find a booking by email and access code",
    request_body = LookupRequest,
    responses(
        (status = 200, description = "the booking with its access code and customer", body = crate::http::representation::BookingBody),
        (status = 400, response = crate::http::error::responses::BadRequest),
        (status = 404, description = "no booking with this email and code", body = crate::http::error::Problem, content_type = "application/problem+json"),
        (status = 413, response = crate::http::error::responses::TooLarge),
        (status = 429, response = crate::http::error::responses::TooManyAttempts),
        (status = 503, response = crate::http::error::responses::Unavailable),
    )
)]
pub async fn lookup(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Body(body): Body,
) -> Result<Json<BookingBody>, ApiError> {
    let (email, code) = json_body::<LookupRequest>(&body)?.parse()?;
    let backend = state.backend()?;
    let lookup = Lookup {
        directory: &backend.directory(),
        attempts: &backend.guard,
        keys: &state.keys,
    };
    let booking = match lookup.lookup(caller.client, &email, &code).await {
        Ok(booking) => booking,
        Err(LookupError::NoMatch) => {
            return Err(ApiError::NotFound(
                "no booking for this email and access code",
            ));
        }
        Err(LookupError::Guard(error)) => return Err(error.into()),
        Err(LookupError::Read(error)) => return Err(error.into()),
    };
    let id = booking.id;
    let customer = customer_of(
        &state,
        id,
        booking.sealed_customer.as_deref(),
        booking.customer.as_ref(),
    )
    .await?;
    Ok(Json(BookingBody::of_view(
        &booking,
        Viewer::Creator(&code),
        customer,
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::testing::fields;

    fn parse(body: &serde_json::Value) -> Result<(String, AccessCode), ApiError> {
        json_body::<LookupRequest>(body.to_string().as_bytes())?.parse()
    }

    #[test]
    fn given_an_email_and_a_code_then_both_are_trimmed_and_the_code_upper_cased() {
        let (email, code) =
            parse(&serde_json::json!({"email": " ada@example.com ", "accessCode": " k7qx2"}))
                .expect("valid");
        assert_eq!(email, "ada@example.com");
        assert_eq!(code.expose(), "K7QX2");
    }

    #[test]
    fn given_missing_blank_or_wrong_fields_then_each_is_named() {
        let error = parse(&serde_json::json!({})).expect_err("invalid");
        assert_eq!(fields(error), ["email", "accessCode"]);
        let error =
            parse(&serde_json::json!({"email": "  ", "accessCode": 12345})).expect_err("invalid");
        assert_eq!(fields(error), ["email", "accessCode"]);
    }
}
