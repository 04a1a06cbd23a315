//! `POST /bookings/{id}/change`: a guest (with the access code) or staff move a confirmed
//! booking to another slot, party size or table (API.md v2, ADR 0029). The new tables are
//! locked before the old ones are released, so the change takes effect whole or not at
//! all; the answer waits for it as `POST /bookings` waits for a confirmation.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use domain::{Booking, BookingCommand, BookingRejection};
use events::read_model::days_overlapping;
use events::{BookingId, BookingPlace, BookingStatus, PartySize, RejectionReason, Revision};
use eventstore::{AppendContext, ExecuteError};
use jiff::Timestamp;

use super::alternatives::alternatives;
use super::bookings::{load_for, no_such_booking, store_failure, wait_seconds};
use super::change_request::{ChangeRequest, ChangeRequestBody};
use super::customer_view::customer_of_booking;
use super::error::{ApiError, Reason};
use super::extract::{Body, Caller, QueryPairs};
use super::fields::json_body;
use super::representation::{BookingBody, Viewer};
use super::state::{AppState, Backend};
use crate::seating::destination::{Destination, destination};
use crate::seating::floor::Floor;

/// `POST /bookings/{id}/change`.
#[tracing::instrument(skip_all, fields(booking_id = %raw_id))]
#[utoipa::path(
    post,
    path = "/bookings/{id}/change",
    tag = "bookings",
    summary = "Change a booking's slot, party or table",
    params(
        ("id" = String, Path, description = "the booking's id (a UUID)"),
        ("wait" = Option<u64>, Query, minimum = 0, maximum = 30, description = "seconds to wait for the outcome (0 to 30, default 5)"),
        ("X-Access-Code" = Option<String>, Header, description = "the booking's access code (or in the body, or the admin token)"),
    ),
    request_body = ChangeRequestBody,
    security(("access_code" = []), ("admin_token" = [])),
    responses(
        (status = 200, description = "the booking at its new place", body = crate::http::representation::BookingBody),
        (status = 202, description = "not decided within `wait`: the booking with `pendingChange`", body = crate::http::representation::BookingBody, headers(("Location" = String, description = "the booking's URL"))),
        (status = 400, response = crate::http::error::responses::BadRequest),
        (status = 403, response = crate::http::error::responses::Forbidden),
        (status = 404, description = "no such booking", body = crate::http::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "refused (`reason`, `alternatives`, the unchanged `booking`), or the booking is not confirmed, has started or has a change pending", body = crate::http::error::Problem, content_type = "application/problem+json"),
        (status = 413, response = crate::http::error::responses::TooLarge),
        (status = 429, response = crate::http::error::responses::TooManyAttempts),
        (status = 503, response = crate::http::error::responses::Unavailable),
    )
)]
pub async fn change(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(raw_id): Path<String>,
    query: QueryPairs,
    body: Body,
) -> Result<Response, ApiError> {
    let now = Timestamp::now();
    let wait = wait_seconds(query.last("wait"))?;
    let caller = caller.with_code_of(&body)?;
    let asked = json_body::<ChangeRequestBody>(&body.0)?.parse(&state.rules, now)?;
    let id = super::bookings::booking_id(&raw_id)?;
    let backend = state.backend()?;
    let (booking, _) = load_for(&state, &caller, id, true).await?;
    let Some(current) = booking.place() else {
        return Err(no_such_booking());
    };
    // Refused before anything is looked up or claimed: the aggregate says the same.
    refuse_early(&booking, now).map_err(refusal)?;

    let slot = asked.time_slot.unwrap_or(current.time_slot);
    let people = asked.people.or(current.people);
    // A place given is claimed until the change is decided, and let go on every path
    // that does not leave the change pending.
    let claim = backend.claims.guard(id);
    let to = match place_for(backend, id, &current, &asked, (slot, people)).await? {
        Ok(to) => to,
        Err(reason) => {
            let refused = Refused::new(reason.into(), slot, people);
            return Err(refused.answer(&state, &booking, &current).await);
        }
    };
    // Registered before the append, so the outcome cannot pass unseen.
    let mut waiter = (wait > 0).then(|| backend.outcomes.register(id));
    let command = BookingCommand::RequestChange {
        to: to.clone(),
        assigned: asked.table_id.is_none() && to.table_ids != current.table_ids,
        now,
    };
    // A retry finds the change pending (or done) and writes nothing more.
    let context = AppendContext::unique("change", id.into());
    let mut booking = match backend.bookings.execute(&id, &command, &context).await {
        Ok(executed) => executed.state,
        Err(ExecuteError::Rejected(rejection)) => return Err(refusal(rejection)),
        Err(error) => return Err(store_failure(error)),
    };
    let revision = booking.pending_change.as_ref().map(|c| c.revision);
    if let (Some(_), Some(waiter)) = (revision, waiter.as_mut()) {
        // Whatever wakes it (this change's outcome, a cancellation), the booking as the
        // stream's leader has it says what became of the change.
        let _woken = waiter.wait(Duration::from_secs(wait)).await;
        if let Ok((fresh, _)) = backend.bookings.load_fresh(&id).await {
            booking = fresh;
        }
    }
    drop(waiter);
    // Still pending (not waited for, or not decided yet): the claim stands until then.
    if revision.is_some() && pending(&booking) == revision {
        claim.keep();
    } else {
        drop(claim);
    }
    answer(&state, &booking, revision, slot, people).await
}

/// The refusals that need no floor: a booking not confirmed, or whose slot has started.
fn refuse_early(booking: &Booking, now: Timestamp) -> Result<(), BookingRejection> {
    match booking.status {
        Some(BookingStatus::Confirmed) => {}
        Some(status) => return Err(BookingRejection::NotConfirmed(status)),
        None => return Err(BookingRejection::NotFound),
    }
    match booking.time_slot {
        Some(slot) if now >= slot.from() => Err(BookingRejection::SlotStarted),
        _ => Ok(()),
    }
}

/// The place the change asks for, or why the read side shows it cannot be had. A place
/// the restaurant picks is claimed as for a new booking.
async fn place_for(
    backend: &Backend,
    id: BookingId,
    current: &BookingPlace,
    asked: &ChangeRequest,
    (slot, people): (events::TimeSlot, Option<PartySize>),
) -> Result<Result<BookingPlace, RejectionReason>, ApiError> {
    let floor = Floor::read_dates(&backend.reads, days_overlapping(&slot).collect())
        .await?
        .without(&current.table_ids, current.time_slot);
    let place = |tables, combination_id| BookingPlace {
        time_slot: slot,
        table_ids: tables,
        combination_id,
        people,
    };
    let held = floor.held();
    let found = destination(
        &floor.tables,
        &held,
        current,
        (slot, people),
        asked.table_id.as_ref(),
    );
    Ok(match found {
        Ok(Destination::Tables {
            tables,
            combination,
        }) => Ok(place(tables, combination)),
        Ok(Destination::Pick(people)) => backend
            .claims
            .give(id, &floor, slot, people, &BTreeSet::new(), Instant::now())
            .map(|given| place(given.tables, given.combination))
            .ok_or(RejectionReason::NoTableAvailable),
        Err(reason) => Err(reason),
    })
}

/// The revision of the change pending, if any.
fn pending(booking: &Booking) -> Option<Revision> {
    booking.pending_change.as_ref().map(|c| c.revision)
}

/// 200 moved (or where it was asked to be already), 202 still pending, 409 refused.
async fn answer(
    state: &AppState,
    booking: &Booking,
    revision: Option<Revision>,
    slot: events::TimeSlot,
    people: Option<PartySize>,
) -> Result<Response, ApiError> {
    let customer = customer_of_booking(state, booking).await?;
    let body = BookingBody::of_booking(booking, Viewer::Authorized, customer)
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("a changed booking is missing")))?;
    if pending(booking).is_some() && pending(booking) == revision {
        let location = format!("/bookings/{}", body.id);
        return Ok((
            StatusCode::ACCEPTED,
            [(header::LOCATION, location)],
            Json(body),
        )
            .into_response());
    }
    let refused = booking
        .change_refusal
        .filter(|(refused, _)| Some(*refused) == revision);
    if let (Some((_, reason)), Some(current)) = (refused, booking.place()) {
        let refused = Refused::new(reason.into(), slot, people);
        return Err(refused.answer(state, booking, &current).await);
    }
    Ok((StatusCode::OK, Json(body)).into_response())
}

/// A change refused for `reason`.
struct Refused {
    reason: Reason,
    slot: events::TimeSlot,
    people: Option<PartySize>,
}

impl Refused {
    fn new(reason: Reason, slot: events::TimeSlot, people: Option<PartySize>) -> Self {
        Self {
            reason,
            slot,
            people,
        }
    }

    /// 409 with the reason, the booking as it stays, and, when the refusal is for want of
    /// a place, where the party fits instead.
    async fn answer(self, state: &AppState, booking: &Booking, current: &BookingPlace) -> ApiError {
        let wanting = self.reason.wants_a_place();
        // Without a party size (a table asked for), any table fits the party.
        let people = self.people.or(PartySize::new(1).ok());
        let alternatives = match people {
            Some(people) if wanting => {
                Some(alternatives(state, self.slot, people, Some(current)).await)
            }
            _ => None,
        };
        let customer = customer_of_booking(state, booking).await.ok().flatten();
        ApiError::Conflict {
            detail: format!(
                "the change cannot be made: {}; the booking is unchanged",
                self.reason.name()
            ),
            reason: Some(self.reason),
            booking: BookingBody::of_booking(booking, Viewer::Authorized, customer).map(Box::new),
            alternatives,
        }
    }
}

/// The answer to a change the booking's state refuses.
fn refusal(rejection: BookingRejection) -> ApiError {
    match rejection {
        BookingRejection::NotFound => no_such_booking(),
        BookingRejection::NotConfirmed(status) => ApiError::conflict(format!(
            "only a confirmed booking can be changed; this one is {}",
            status.name()
        )),
        BookingRejection::SlotStarted => {
            ApiError::conflict("the booking's slot has started; it can no longer be changed")
        }
        BookingRejection::ChangePending => ApiError::conflict(
            "another change of this booking is being made; try again once it is decided",
        ),
        BookingRejection::TooManyChanges => ApiError::conflict(format!(
            "the booking was changed {} times already; cancel it and book anew",
            domain::MAX_CHANGES
        )),
        other => ApiError::internal(anyhow::anyhow!("unexpected refusal of a change: {other}")),
    }
}
