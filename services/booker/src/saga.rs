//! The booking saga: turns the table-manager's lock decisions into the booking's outcome,
//! and rejects bookings whose lock does not come in time.

use std::collections::BTreeSet;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use domain::{Booking, BookingCommand, BookingRejection, NextPlace};
use events::{
    BookingEvent, BookingId, BookingStatus, EventId, PartySize, RejectionReason, Step, TableEvent,
    TableId, TimeSlot,
};
use eventstore::{
    AppendContext, Delivery, EventLog, EventStore, ExecuteError, Executed, HandleError, Handler,
    Recorded, Repository,
};
use jiff::Timestamp;

/// Durable consumer of the saga on `TABLES`.
pub const SAGA_CONSUMER: &str = "booking-saga";
/// Durable consumer of the timeouts on `BOOKINGS`.
pub const TIMEOUT_CONSUMER: &str = "booking-timeouts";

/// Where the saga finds the next place for a party that lost the one it was given: the
/// read side's floor and this booker's claims in the service, a fixed answer in tests.
pub trait Seating: Send + Sync + 'static {
    /// The place the restaurant gives `people` in `slot` now, none of `excluded` in it:
    /// [`NextPlace::Place`], or [`NextPlace::Nothing`].
    fn next_place(
        &self,
        booking: BookingId,
        slot: TimeSlot,
        people: PartySize,
        excluded: &BTreeSet<TableId>,
    ) -> impl Future<Output = anyhow::Result<NextPlace>> + Send;
}

/// Confirms or rejects bookings as their locks are decided, and gives a party booking by
/// size its next place when a race took the one it was given (ADR 0027).
#[derive(Debug)]
pub struct BookingSaga<S, L: EventLog = EventStore> {
    pub bookings: Arc<Repository<Booking, L>>,
    pub seating: S,
}

impl<S: Seating, L: EventLog> Handler for BookingSaga<S, L> {
    async fn handle(&self, delivery: &Delivery) -> Result<(), HandleError> {
        let recorded = delivery.decode::<TableEvent>()?;
        self.react(&recorded).await
    }
}

impl<S: Seating, L: EventLog> BookingSaga<S, L> {
    /// The saga's step for one table event.
    pub async fn react(&self, recorded: &Recorded<TableEvent>) -> Result<(), HandleError> {
        let (booking, command, step) = match &recorded.event {
            // A decision on a change's new table (ADR 0029).
            TableEvent::LockPlaced(lock) if lock.revision > 0 => (
                lock.booking_id,
                BookingCommand::ChangeLocked {
                    table_id: lock.id.clone(),
                    time_slot: lock.time_slot,
                    revision: lock.revision,
                },
                Step::Change,
            ),
            TableEvent::LockPlacementFailed(failed) if failed.revision > 0 => (
                failed.booking_id,
                BookingCommand::ChangeLockFailed {
                    table_id: failed.id.clone(),
                    reason: failed.reason,
                    revision: failed.revision,
                },
                Step::RejectChange,
            ),
            TableEvent::LockPlaced(lock) => (
                lock.booking_id,
                BookingCommand::Confirm {
                    table_id: lock.id.clone(),
                    time_slot: lock.time_slot,
                },
                Step::Confirm,
            ),
            TableEvent::LockPlacementFailed(failed) => {
                let next = self.next_place(failed.booking_id, &failed.id).await?;
                let command = BookingCommand::LockFailed {
                    table_id: failed.id.clone(),
                    reason: failed.reason.into(),
                    next,
                };
                (failed.booking_id, command, Step::Reject)
            }
            _ => return Ok(()),
        };
        execute(&self.bookings, booking, &command, step, recorded).await
    }

    /// What the party of `booking`, whose `table` was refused, is given next, if it
    /// seeks another place at all.
    async fn next_place(
        &self,
        booking: BookingId,
        table: &TableId,
    ) -> Result<NextPlace, HandleError> {
        let (state, _) = self
            .bookings
            .load(&booking)
            .await
            .map_err(|e| HandleError::Retry(Box::new(e)))?;
        let Some((slot, people, excluded)) = state.seeks_another_place(table) else {
            return Ok(NextPlace::NotSought);
        };
        self.seating
            .next_place(booking, slot, people, &excluded)
            .await
            .map_err(|e| HandleError::Retry(e.into()))
    }
}

/// Rejects a booking still `initiated` once `timeout` has passed since it was stored, and
/// rolls back a change still pending once `timeout` has passed since it was asked for
/// (ADR 0029).
///
/// The timer is the `table-booking-initiated` (or `-change-requested`) event itself: its delivery is deferred until
/// the deadline, so it survives restarts of every booker (ADR 0006). The deadline counts
/// from when the server stored the event, not from its `occurredAt`, which is the clock of
/// the replica that wrote it.
///
/// A booking's timer is looked at once [`EARLY_LOOK`] after the request, when the saga has
/// almost always decided it: a booking this booker's cache shows decided (a decided
/// booking never goes back to `initiated`) needs no timer, and is let go without a read of
/// the stream. Only a booking still undecided then waits for the full timeout.
#[derive(Debug)]
pub struct Timeouts<L: EventLog = EventStore> {
    pub bookings: Arc<Repository<Booking, L>>,
    pub timeout: Duration,
}

impl<L: EventLog> Handler for Timeouts<L> {
    async fn handle(&self, delivery: &Delivery) -> Result<(), HandleError> {
        let recorded = delivery.decode::<BookingEvent>()?;
        self.react(&recorded, delivery.stored_at, Timestamp::now())
            .await
    }

    /// Only a booking's request and a change's request start a timer.
    fn ignores(&self) -> &'static [&'static str] {
        TIMELESS
    }
}

/// The booking events that start no timer.
const TIMELESS: &[&str] = &[
    <events::TableBookingConfirmed as events::EventType>::TYPE,
    <events::TableBookingRejected as events::EventType>::TYPE,
    <events::TableBookingCancelled as events::EventType>::TYPE,
    <events::TableBookingCustomerErased as events::EventType>::TYPE,
    <events::TableBookingReassigned as events::EventType>::TYPE,
    <events::TableBookingChanged as events::EventType>::TYPE,
    <events::TableBookingChangeRejected as events::EventType>::TYPE,
];

impl<L: EventLog> Timeouts<L> {
    /// The timeout's step for one booking event, stored at `stored_at` and delivered at
    /// `now`.
    pub async fn react(
        &self,
        recorded: &Recorded<BookingEvent>,
        stored_at: Timestamp,
        now: Timestamp,
    ) -> Result<(), HandleError> {
        let initiated = match &recorded.event {
            BookingEvent::Initiated(initiated) => initiated,
            BookingEvent::ChangeRequested(change) => {
                due(self.timeout, stored_at, now)?;
                let command = BookingCommand::RollBackChange {
                    revision: change.revision,
                };
                return execute(
                    &self.bookings,
                    change.id,
                    &command,
                    Step::ChangeTimeout,
                    recorded,
                )
                .await;
            }
            _ => return Ok(()),
        };
        if let Some(reason) = initiated.edge_rejection() {
            // Normally rejected already by the request that made it; if that request died
            // in between, now (the same append either way: deduplicated).
            let command = BookingCommand::Reject { reason };
            return execute(
                &self.bookings,
                initiated.id,
                &command,
                EDGE_REJECTION,
                recorded,
            )
            .await;
        }
        if self.decided(initiated.id) {
            return Ok(());
        }
        due(EARLY_LOOK.min(self.timeout), stored_at, now)?;
        due(self.timeout, stored_at, now)?;
        let command = BookingCommand::Reject {
            reason: RejectionReason::Timeout,
        };
        execute(
            &self.bookings,
            initiated.id,
            &command,
            Step::Timeout,
            recorded,
        )
        .await
    }
}

/// When a booking's timer is first looked at again, after its request.
pub const EARLY_LOOK: Duration = Duration::from_secs(1);

impl<L: EventLog> Timeouts<L> {
    /// Whether this booker's cache shows booking `id` decided (confirmed, rejected or
    /// cancelled); `false` when it does not know.
    fn decided(&self, id: BookingId) -> bool {
        self.bookings
            .peek_with(&id, |booking, _| {
                booking
                    .status
                    .is_some_and(|status| status != BookingStatus::Initiated)
            })
            .unwrap_or(false)
    }
}

/// Defers the message until `timeout` has passed since `stored_at` (a deferred nak is the
/// timer); `Ok` once it has.
fn due(timeout: Duration, stored_at: Timestamp, now: Timestamp) -> Result<(), HandleError> {
    let elapsed = now.duration_since(stored_at);
    let elapsed = Duration::try_from(elapsed).unwrap_or(Duration::ZERO);
    if elapsed < timeout {
        return Err(HandleError::Defer(
            timeout - elapsed + Duration::from_millis(5),
        ));
    }
    Ok(())
}

/// The step that rejects a booking the gateway refused as it made it: a table that was
/// never added (ADR 0020), no table for the party (ADR 0027).
pub const EDGE_REJECTION: Step = Step::RejectUnknownTable;

/// Rejects the booking `id` for `reason`, just made by its initiated event `initiated`
/// and refused by the gateway: what the request that made it does at once, with the
/// command id the timeouts consumer would use.
pub async fn refuse_at_edge<L: EventLog>(
    bookings: &Repository<Booking, L>,
    id: BookingId,
    initiated: EventId,
    reason: RejectionReason,
) -> Result<Executed<Booking>, ExecuteError<BookingRejection>> {
    let context = AppendContext::caused_by_event(EDGE_REJECTION, initiated, id.into());
    let command = BookingCommand::Reject { reason };
    bookings.execute(&id, &command, &context).await
}

/// Runs a saga step on a booking. A refusal means the step no longer applies (the booking
/// moved on: cancelled, timed out, confirmed); it is logged and the message settled.
async fn execute<E, L: EventLog>(
    bookings: &Repository<Booking, L>,
    booking: BookingId,
    command: &BookingCommand,
    step: Step,
    cause: &Recorded<E>,
) -> Result<(), HandleError> {
    let context = AppendContext::caused_by(step, &cause.metadata);
    match bookings.execute(&booking, command, &context).await {
        Ok(_) => Ok(()),
        Err(ExecuteError::Rejected(BookingRejection::NotFound)) => Err(HandleError::Poison(
            format!("{}: booking {booking} does not exist", step.name()),
        )),
        Err(ExecuteError::Rejected(rejection)) => {
            // A late lock for a booking that is no longer live: table-manager releases it
            // when it sees the rejection or cancellation (it reads BOOKINGS in order).
            tracing::info!(%booking, step = step.name(), %rejection, "saga step no longer applies");
            Ok(())
        }
        Err(error) => Err(HandleError::Retry(Box::new(error))),
    }
}

#[cfg(test)]
mod change_tests;
#[cfg(test)]
mod reassign_tests;
#[cfg(test)]
mod tests;
