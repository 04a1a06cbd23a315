//! Change: a guest (with the access code) or staff move a confirmed booking to another
//! slot, party size or table (API.md v2, ADR 0029). The new tables are locked before the
//! old ones are released, so the change takes effect whole or not at all; the outcome is
//! awaited as a new booking's is.

#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::{Duration, Instant};

use domain::{Booking, BookingCommand, BookingRejection};
use events::read_model::days_overlapping;
use events::{
    BookingId, BookingPlace, BookingStatus, ChangeRejectionReason, PartySize, RejectionReason,
    Revision, TableId, TimeSlot,
};
use eventstore::{AppendContext, EventLog, ExecuteError, Repository};
use jiff::Timestamp;

use super::Floors;
use super::alternatives::alternatives;
use crate::adapters::outcomes::Outcomes;
use crate::adapters::reads::ReadError;
use crate::seating::assignment::Claims;
use crate::seating::availability::Alternative;
use crate::seating::destination::{Destination, destination};
use crate::seating::rules::SlotRules;

/// A valid change: at least one of the three is given; what is left out stays as booked
/// (the tables too, when they fit; else the restaurant picks, API.md).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeRequest {
    pub time_slot: Option<TimeSlot>,
    pub people: Option<PartySize>,
    pub table_id: Option<TableId>,
}

/// Why a change was refused: by the floor before anything was written, or by the lock
/// decision on the new tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    Place(RejectionReason),
    Decided(ChangeRejectionReason),
}

impl Refusal {
    /// A refusal for want of a place: it says where the party fits instead.
    pub fn wants_a_place(self) -> bool {
        match self {
            Self::Place(reason) => reason.wants_a_place(),
            Self::Decided(reason) => matches!(
                reason,
                ChangeRejectionReason::SlotTaken | ChangeRejectionReason::TooSmall
            ),
        }
    }
}

/// What changing needs.
#[derive(Debug)]
pub struct Change<'a, L: EventLog, F> {
    pub bookings: &'a Repository<Booking, L>,
    pub floors: &'a F,
    /// Places given and not yet decided.
    pub claims: &'a Claims,
    pub outcomes: &'a Arc<Outcomes>,
    pub rules: &'a SlotRules,
}

/// What became of a change, with the booking as it stands.
#[derive(Debug)]
pub enum Changed {
    /// At its new place (or where it was asked to be already).
    Moved(Booking),
    /// Not decided within the wait: the booking shows `pendingChange`.
    Pending(Booking),
    /// Refused; the booking is unchanged.
    Refused {
        booking: Booking,
        reason: Refusal,
        /// Where the party fits instead, when refused for want of a place.
        alternatives: Option<Vec<Alternative>>,
    },
}

/// Why the change was not tried.
#[derive(Debug, thiserror::Error)]
pub enum ChangeError {
    /// The booking's state refuses it: not found, not confirmed, started, a change
    /// pending, too many changes.
    #[error("the booking refuses the change: {0}")]
    Refused(BookingRejection),
    #[error(transparent)]
    Floor(#[from] ReadError),
    #[error("cannot write the change: {0}")]
    Store(#[source] ExecuteError<BookingRejection>),
}

impl<L: EventLog, F: Floors> Change<'_, L, F> {
    /// Changes booking `id`, as loaded for a caller allowed to change it, as `asked` at
    /// `now`, waiting up to `wait` for the outcome.
    pub async fn change(
        &self,
        id: BookingId,
        booking: Booking,
        asked: &ChangeRequest,
        now: Timestamp,
        wait: Duration,
    ) -> Result<Changed, ChangeError> {
        let Some(current) = booking.place() else {
            return Err(ChangeError::Refused(BookingRejection::NotFound));
        };
        // Refused before anything is looked up or claimed: the aggregate says the same.
        refuse_early(&booking, now).map_err(ChangeError::Refused)?;
        let slot = asked.time_slot.unwrap_or(current.time_slot);
        let people = asked.people.or(current.people);
        // A place given is claimed until the change is decided, and let go on every path
        // that does not leave the change pending.
        let claim = self.claims.guard(id);
        let to = match self.place_for(id, &current, asked, (slot, people)).await? {
            Ok(to) => to,
            Err(reason) => {
                let refusal = Refusal::Place(reason);
                return Ok(self.refused(booking, refusal, slot, people).await);
            }
        };
        // Registered before the append, so the outcome cannot pass unseen.
        let mut waiter = (!wait.is_zero()).then(|| self.outcomes.register(id));
        let command = BookingCommand::RequestChange {
            to: to.clone(),
            assigned: asked.table_id.is_none() && to.table_ids != current.table_ids,
            now,
        };
        // A retry finds the change pending (or done) and writes nothing more.
        let context = AppendContext::unique("change", id.into());
        let mut booking = match self.bookings.execute(&id, &command, &context).await {
            Ok(executed) => executed.into_state(),
            Err(ExecuteError::Rejected(rejection)) => {
                return Err(ChangeError::Refused(rejection));
            }
            Err(error) => return Err(ChangeError::Store(error)),
        };
        let revision = pending(&booking);
        if let (Some(_), Some(waiter)) = (revision, waiter.as_mut()) {
            // Whatever wakes it (this change's outcome, a cancellation), the booking as
            // the stream's leader has it says what became of the change.
            let _woken = waiter.wait(wait).await;
            if let Ok((fresh, _)) = self.bookings.load_fresh(&id).await {
                booking = fresh;
            }
        }
        drop(waiter);
        if revision.is_some() && pending(&booking) == revision {
            // Still pending: the claim stands until the change is decided.
            claim.keep();
            return Ok(Changed::Pending(booking));
        }
        drop(claim);
        let refused = booking
            .change_refusal
            .filter(|(refused, _)| Some(*refused) == revision);
        Ok(match refused {
            Some((_, reason)) => {
                let refusal = Refusal::Decided(reason);
                self.refused(booking, refusal, slot, people).await
            }
            None => Changed::Moved(booking),
        })
    }

    /// The place the change asks for, or why the read side shows it cannot be had. A
    /// place the restaurant picks is claimed as for a new booking.
    async fn place_for(
        &self,
        id: BookingId,
        current: &BookingPlace,
        asked: &ChangeRequest,
        (slot, people): (TimeSlot, Option<PartySize>),
    ) -> Result<Result<BookingPlace, RejectionReason>, ChangeError> {
        let floor = self
            .floors
            .floor(days_overlapping(&slot).collect())
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
            Ok(Destination::Pick(people)) => self
                .claims
                .give(
                    id,
                    &floor,
                    slot,
                    people,
                    &Default::default(),
                    Instant::now(),
                )
                .map(|given| place(given.tables, given.combination))
                .ok_or(RejectionReason::NoTableAvailable),
            Err(reason) => Err(reason),
        })
    }

    /// The change refused for `reason`, with where the party fits instead when it is
    /// for want of a place (without a party size, any table fits the party).
    async fn refused(
        &self,
        booking: Booking,
        reason: Refusal,
        slot: TimeSlot,
        people: Option<PartySize>,
    ) -> Changed {
        let people = people.or(PartySize::new(1).ok());
        let alternatives = match (people, booking.place()) {
            (Some(people), Some(own)) if reason.wants_a_place() => {
                Some(alternatives(self.rules, self.floors, slot, people, Some(&own)).await)
            }
            _ => None,
        };
        Changed::Refused {
            booking,
            reason,
            alternatives,
        }
    }
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

/// The revision of the change pending, if any.
fn pending(booking: &Booking) -> Option<Revision> {
    booking.pending_change.as_ref().map(|c| c.revision)
}
