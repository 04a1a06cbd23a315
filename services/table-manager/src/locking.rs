//! The table-locking saga: reacts to booking events by placing a booking's lock, or
//! recording why it cannot be placed, and by removing the lock of a booking that was
//! cancelled or timed out.

use std::sync::Arc;

use events::{
    AggregateId as _, BookingEvent, BookingId, LockRemovalCause, Metadata, PartySize,
    RejectionReason, ReleasedLock, Step, TableId, TimeSlot,
};
use eventstore::{
    AppendContext, Delivery, EventLog, EventStore, ExecuteError, HandleError, Handler, Recorded,
};

use crate::tables::{Holder, Tables};

/// Durable consumer of the saga on `BOOKINGS`.
pub const CONSUMER: &str = "table-locking";

/// Handles the booking events for the locking saga.
#[derive(Debug)]
pub struct LockingSaga<L: EventLog = EventStore> {
    pub tables: Arc<Tables<L>>,
}

impl<L: EventLog> Handler for LockingSaga<L> {
    async fn handle(&self, delivery: &Delivery) -> Result<(), HandleError> {
        let recorded = delivery.decode::<BookingEvent>()?;
        self.react(&recorded).await
    }

    /// A confirmation or an erasure asks nothing of the tables.
    fn ignores(&self) -> &'static [&'static str] {
        &[
            <events::TableBookingConfirmed as events::EventType>::TYPE,
            <events::TableBookingCustomerErased as events::EventType>::TYPE,
        ]
    }
}

impl<L: EventLog> LockingSaga<L> {
    /// The saga's step for one booking event.
    #[tracing::instrument(skip_all, fields(
        booking_id = %recorded.event.booking_id(),
        event = recorded.metadata.event_type,
    ))]
    pub async fn react(&self, recorded: &Recorded<BookingEvent>) -> Result<(), HandleError> {
        let metadata = &recorded.metadata;
        match &recorded.event {
            // Rejected by the gateway as it was made (ADR 0020, 0027): nothing to lock.
            BookingEvent::Initiated(e) if e.edge_rejection().is_some() => Ok(()),
            BookingEvent::Initiated(e) => {
                let holder = e.id.into();
                self.lock(&e.table_ids, e.time_slot, holder, e.people, metadata)
                    .await
            }
            // The place it was given was lost in a race: the next one (ADR 0027).
            BookingEvent::Reassigned(e) => {
                let holder = e.id.into();
                self.lock(&e.table_ids, e.time_slot, holder, None, metadata)
                    .await
            }
            // A change (ADR 0029): the new tables it does not hold already, all or
            // nothing, before anything is released. The party is checked against a table
            // only when that one table is the whole new place.
            BookingEvent::ChangeRequested(e) => {
                let to_lock = e.from.move_to(&e.to).to_lock;
                let people = e.to.people.filter(|_| e.to.table_ids.len() == 1);
                let holder = Holder::new(e.id, e.revision);
                self.lock(&to_lock, e.to.time_slot, holder, people, metadata)
                    .await
            }
            // Moved: the old tables it no longer needs are freed.
            BookingEvent::Changed(e) => {
                let to_release = e.from.move_to(&e.to).to_release;
                let holder = Holder::new(e.id, e.revision);
                let cause = LockRemovalCause::BookingChanged;
                self.free(&to_release, holder, e.from.time_slot, cause, metadata)
                    .await
            }
            // Not moved: whatever was locked for the new place is freed, and a lock
            // request still to come is barred (a refusal freed them already: no-ops).
            BookingEvent::ChangeRejected(e) => {
                let to_lock = e.from.move_to(&e.to).to_lock;
                let holder = Holder::new(e.id, e.revision);
                let cause = LockRemovalCause::ChangeRejected;
                self.free(&to_lock, holder, e.to.time_slot, cause, metadata)
                    .await
            }
            BookingEvent::Cancelled(e) => {
                let cause = LockRemovalCause::BookingCancelled;
                self.release(e.id, e, cause, metadata).await
            }
            // Only a timed-out booking can have got a lock (late); other rejections are
            // the answer to a failed placement, which released what it had placed.
            BookingEvent::Rejected(e) if e.reason == RejectionReason::Timeout => {
                let cause = LockRemovalCause::BookingRejected;
                self.release(e.id, e, cause, metadata).await
            }
            BookingEvent::Rejected(_)
            | BookingEvent::Confirmed(_)
            | BookingEvent::CustomerErased(_) => Ok(()),
        }
    }

    async fn release(
        &self,
        booking: BookingId,
        event: &impl ReleasedLock,
        cause: LockRemovalCause,
        metadata: &Metadata,
    ) -> Result<(), HandleError> {
        let (tables, slot) = match event.lock() {
            Some((tables, slot)) => (tables.to_vec(), slot),
            None => self.legacy_lock_of(booking).await?,
        };
        self.free(&tables, booking.into(), slot, cause, metadata)
            .await
    }

    /// Locks `tables` in `slot` for `holder`, all or nothing: the step caused by the
    /// booking event of `metadata`.
    async fn lock(
        &self,
        tables: &[TableId],
        slot: TimeSlot,
        holder: Holder,
        people: Option<PartySize>,
        metadata: &Metadata,
    ) -> Result<(), HandleError> {
        let context = step_context(metadata, tables.len());
        self.tables
            .lock_all(tables, slot, holder, people, context)
            .await
            .map_err(retry)
    }

    /// Frees `tables` in `slot` for `holder`: the step caused by the booking event of
    /// `metadata`.
    async fn free(
        &self,
        tables: &[TableId],
        holder: Holder,
        slot: TimeSlot,
        cause: LockRemovalCause,
        metadata: &Metadata,
    ) -> Result<(), HandleError> {
        let context = step_context(metadata, tables.len());
        self.tables
            .release_all(tables, holder, slot, cause, context)
            .await
            .map_err(retry)
    }

    /// The tables and slot of a booking whose rejection or cancellation was written before
    /// schema v2 (without its lock): from the booking's first event.
    async fn legacy_lock_of(
        &self,
        booking: BookingId,
    ) -> Result<(Vec<TableId>, TimeSlot), HandleError> {
        // Not finding it is final (poison), so read what the stream's leader holds.
        let loaded = self
            .tables
            .log()
            .load_after_consistent::<BookingEvent>(&booking.subject(), 0)
            .await
            .map_err(|e| HandleError::Retry(Box::new(e)))?;
        loaded
            .events
            .into_iter()
            .find_map(|r| match r.event {
                BookingEvent::Initiated(e) => Some((e.table_ids, e.time_slot)),
                _ => None,
            })
            .ok_or_else(|| {
                HandleError::Poison(format!(
                    "booking {booking} has no table-booking-initiated event"
                ))
            })
    }
}

/// The append context of a step (`place-lock`, `release-lock`) of the saga on one of a
/// booking's `count` tables, caused by the booking event of `metadata`: the step's name
/// alone for one table (as ever), with the table's id for several, so that each table's
/// append has a command id of its own.
fn step_context(metadata: &Metadata, count: usize) -> impl Fn(Step, &TableId) -> AppendContext {
    move |step, table| {
        if count == 1 {
            AppendContext::caused_by(step, metadata)
        } else {
            AppendContext::caused_by(step.on(table), metadata)
        }
    }
}

/// Lock commands are never refused (failures are events), so every error is transient.
fn retry(error: ExecuteError<domain::TableRejection>) -> HandleError {
    HandleError::Retry(Box::new(error))
}

#[cfg(test)]
mod change_tests;
#[cfg(test)]
mod joined_tests;
#[cfg(test)]
mod tests;
