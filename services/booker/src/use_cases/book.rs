//! Book: a guest books a table, or a party size and the restaurant gives it a place
//! (ADR 0027). The customer is sealed with the booking's own key, the place is claimed
//! until the booking is decided, a booking refused as it is made is rejected at once, and
//! the outcome is awaited for as long as asked.

mod request;
#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::{Duration, Instant};

use domain::{Aggregate as _, Booking, BookingCommand, BookingRejection};
use events::read_model::days_overlapping;
use events::{
    BookingId, BookingStatus, CombinationId, PartySize, RejectionReason, Step,
    TableBookingInitiated, TableId,
};
use eventstore::{AppendContext, EventLog, ExecuteError, LoadError, Repository};

pub use request::BookingRequest;

use super::alternatives::alternatives;
use super::{Floors, Sealer};
use crate::adapters::customers::CustomerError;
use crate::adapters::known_tables::KnownTables;
use crate::adapters::outcomes::Outcomes;
use crate::adapters::reads::ReadError;
use crate::edge::access::AccessCode;
use crate::edge::keys::Keys;
use crate::saga;
use crate::seating::assignment::Claims;
use crate::seating::availability::Alternative;
use crate::seating::rules::SlotRules;

/// What booking needs.
#[derive(Debug)]
pub struct Book<'a, L: EventLog, F, C> {
    pub bookings: &'a Repository<Booking, L>,
    pub known_tables: &'a KnownTables<L>,
    pub floors: &'a F,
    /// Places given and not yet decided.
    pub claims: &'a Claims,
    pub outcomes: &'a Arc<Outcomes>,
    pub customers: &'a C,
    pub keys: &'a Keys,
    pub rules: &'a SlotRules,
}

/// Whose booking it is: its id and access code, new or those an earlier request with the
/// same `Idempotency-Key` was given.
#[derive(Debug, Clone, Copy)]
pub struct Identity<'a> {
    pub id: BookingId,
    pub access_code: &'a AccessCode,
    /// The id may stand for a booking made earlier (a key was given); a fresh random id
    /// is surely new.
    pub replayable: bool,
}

/// The booking as it stands once the wait is over.
#[derive(Debug)]
pub struct Booked {
    pub booking: Booking,
    /// Where the party fits instead, when it was refused for want of a place.
    pub alternatives: Option<Vec<Alternative>>,
}

/// Why no booking was made.
#[derive(Debug, thiserror::Error)]
pub enum BookError {
    /// The id of an `Idempotency-Key` stands for a booking made from another request.
    #[error("the booking id is taken by another request")]
    KeyReused,
    /// A party booked without a table needs a size.
    #[error("people is required when tableId is left out")]
    PeopleMissing,
    #[error("cannot tell whether the table exists: {0}")]
    Tables(#[source] LoadError),
    #[error(transparent)]
    Floor(#[from] ReadError),
    #[error(transparent)]
    Customer(#[from] CustomerError),
    #[error("cannot write the booking: {0}")]
    Store(#[source] ExecuteError<BookingRejection>),
}

/// Where a booking goes: the table asked for, or the place the restaurant gives the party.
struct Place {
    /// Empty when nothing fits the party.
    tables: Vec<TableId>,
    combination: Option<CombinationId>,
    /// The table asked for was never added (ADR 0020).
    unknown_table: bool,
}

impl<L: EventLog, F: Floors, C: Sealer> Book<'_, L, F, C> {
    /// Books `request` as `who`, waiting up to `wait` for the outcome.
    pub async fn book(
        &self,
        who: Identity<'_>,
        request: &BookingRequest,
        wait: Duration,
    ) -> Result<Booked, BookError> {
        let id = who.id;
        // The customer is kept only sealed with the booking's own key (ADR 0024).
        let sealed = match &request.customer {
            Some(customer) => Some(self.customers.seal(id, customer, who.access_code).await?),
            None => None,
        };
        // Last before the append: a place given is claimed until the booking is decided,
        // and let go on every path that does not write the booking holding it.
        let claim = self.claims.guard(id);
        let place = self.place_for(id, request).await?;
        let initiated = TableBookingInitiated {
            id,
            table_id: events::single(&place.tables),
            table_ids: place.tables,
            combination_id: place.combination,
            assigned: request.table_id.is_none(),
            time_slot: request.time_slot,
            people: request.people,
            customer: None,
            access_code_digest: who.access_code.digest(self.keys, id),
            unknown_table: place.unknown_table,
            sealed_customer: sealed.as_ref().map(|s| s.customer.clone()),
            sealed_access_code: sealed.as_ref().map(|s| s.access_code.clone()),
            email_digest: sealed.map(|s| s.email_digest),
        };
        let refused = initiated.edge_rejection();
        let initiated_tables = initiated.table_ids.clone();
        // Registered before the append, so the outcome cannot pass unseen.
        let mut waiter = (!wait.is_zero()).then(|| self.outcomes.register(id));
        let context = AppendContext::for_request(Step::Initiate, id.as_uuid(), id.into());
        let command = BookingCommand::Initiate(initiated);
        let executed = if who.replayable {
            self.bookings.execute(&id, &command, &context).await
        } else {
            self.bookings.execute_new(&id, &command, &context).await
        };
        let executed = match executed {
            Ok(executed) => executed,
            // Only an idempotent replay can meet an existing booking id.
            Err(ExecuteError::Rejected(_)) => return Err(BookError::KeyReused),
            Err(error) => return Err(BookError::Store(error)),
        };
        let mut booking = match refused {
            // Decided already: rejected now rather than by a consumer (ADR 0020, 0027).
            // Should this append fail, the timeouts consumer rejects it; the answer is 202.
            Some(reason) => {
                drop(claim);
                let initiated = context.command_id.event_id(0);
                match saga::refuse_at_edge(self.bookings, id, initiated, reason).await {
                    Ok(rejected) => rejected.into_state(),
                    Err(error) => {
                        tracing::warn!(%error, "the booking refused as it was made is left to the timeouts consumer");
                        executed.into_state()
                    }
                }
            }
            None => {
                // A retry of a booking made before keeps the place it was given then.
                if executed.state.tables == initiated_tables {
                    claim.keep();
                } else {
                    drop(claim);
                }
                executed.into_state()
            }
        };

        if let (Some(BookingStatus::Initiated), Some(waiter)) = (booking.status, waiter.as_mut()) {
            if let Some(outcome) = waiter.wait(wait).await {
                booking = booking.evolve(&outcome);
            } else if let Ok((fresh, _)) = self.bookings.load_fresh(&id).await {
                // The outcome may have come while the subscription was reconnecting.
                booking = fresh;
            }
        }
        drop(waiter);
        let rejected = booking.status == Some(BookingStatus::Rejected);
        if rejected {
            self.claims.release(id);
        }
        // A refusal for want of a place says where the party fits instead; without a
        // party size (a table asked for), any table fits the party.
        let wanting = booking
            .rejection
            .is_some_and(RejectionReason::wants_a_place);
        let alternatives = match request.people.or(PartySize::new(1).ok()) {
            Some(people) if wanting && rejected => {
                Some(alternatives(self.rules, self.floors, request.time_slot, people, None).await)
            }
            _ => None,
        };
        Ok(Booked {
            booking,
            alternatives,
        })
    }

    async fn place_for(&self, id: BookingId, request: &BookingRequest) -> Result<Place, BookError> {
        if let Some(table) = &request.table_id {
            // A table that was never added is refused here, in the booking's first write,
            // rather than by table-manager: made-up ids never queue ahead of real bookings.
            let known = self
                .known_tables
                .exists(table)
                .await
                .map_err(BookError::Tables)?;
            return Ok(Place {
                tables: vec![table.clone()],
                combination: None,
                unknown_table: !known,
            });
        }
        let people = request.people.ok_or(BookError::PeopleMissing)?;
        let slot = request.time_slot;
        let floor = self.floors.floor(days_overlapping(&slot).collect()).await?;
        let place = self.claims.give(
            id,
            &floor,
            slot,
            people,
            &Default::default(),
            Instant::now(),
        );
        Ok(Place {
            tables: place.as_ref().map(|p| p.tables.clone()).unwrap_or_default(),
            combination: place.and_then(|p| p.combination),
            unknown_table: false,
        })
    }
}
