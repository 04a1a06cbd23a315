//! The table-locking saga: reacts to booking events by placing a booking's lock, or
//! recording why it cannot be placed, and by removing the lock of a booking that was
//! cancelled or timed out.

use std::sync::Arc;

use events::{
    BookingEvent, BookingId, CommandId, LockRemovalCause, RejectionReason, ReleasedLock, TableId,
    names,
};
use eventstore::{
    AppendContext, Delivery, EventStore, ExecuteError, HandleError, Handler, Recorded,
};

use crate::tables::Tables;

/// Durable consumer of the saga on `BOOKINGS`.
pub const CONSUMER: &str = "table-locking";

/// Handles the booking events for the locking saga.
#[derive(Debug)]
pub struct LockingSaga {
    pub tables: Arc<Tables>,
    pub store: EventStore,
}

impl Handler for LockingSaga {
    async fn handle(&self, delivery: &Delivery) -> Result<(), HandleError> {
        let recorded = delivery.decode::<BookingEvent>()?;
        self.react(&recorded).await
    }
}

impl LockingSaga {
    #[tracing::instrument(skip_all, fields(
        booking_id = %recorded.event.booking_id(),
        event = recorded.metadata.event_type,
    ))]
    async fn react(&self, recorded: &Recorded<BookingEvent>) -> Result<(), HandleError> {
        let context = |step: &str| AppendContext {
            command_id: CommandId::caused_by(step, recorded.metadata.event_id),
            correlation_id: recorded.metadata.correlation_id,
            causation_id: recorded.metadata.event_id.into(),
        };
        match &recorded.event {
            BookingEvent::Initiated(e) => self
                .tables
                .place_lock(
                    &e.table_id,
                    e.time_slot,
                    e.id,
                    e.people,
                    &context("place-lock"),
                )
                .await
                .map(drop)
                .map_err(retry),
            BookingEvent::Cancelled(e) => {
                let cause = LockRemovalCause::BookingCancelled;
                self.release(e.id, e, cause, &context("release-lock")).await
            }
            // Only a timed-out booking can have got a lock (late); other rejections are
            // the answer to a failed placement.
            BookingEvent::Rejected(e) if e.reason == RejectionReason::Timeout => {
                let cause = LockRemovalCause::BookingRejected;
                self.release(e.id, e, cause, &context("release-lock")).await
            }
            BookingEvent::Rejected(_) | BookingEvent::Confirmed(_) => Ok(()),
        }
    }

    async fn release(
        &self,
        booking: BookingId,
        event: &impl ReleasedLock,
        cause: LockRemovalCause,
        context: &AppendContext,
    ) -> Result<(), HandleError> {
        let table = match event.lock() {
            Some((table, _)) => table.clone(),
            None => self.legacy_table_of(booking).await?,
        };
        self.tables
            .remove_lock(&table, booking, cause, context)
            .await
            .map_err(retry)
    }

    /// The table of a booking whose rejection or cancellation was written before schema
    /// v2 (without its lock): from the booking's first event.
    async fn legacy_table_of(&self, booking: BookingId) -> Result<TableId, HandleError> {
        let loaded = self
            .store
            .load::<BookingEvent>(&names::booking_subject(&booking))
            .await
            .map_err(|e| HandleError::Retry(Box::new(e)))?;
        loaded
            .events
            .into_iter()
            .find_map(|r| match r.event {
                BookingEvent::Initiated(e) => Some(e.table_id),
                _ => None,
            })
            .ok_or_else(|| {
                HandleError::Poison(format!(
                    "booking {booking} has no table-booking-initiated event"
                ))
            })
    }
}

/// Lock commands are never refused (failures are events), so every error is transient.
fn retry(error: ExecuteError<domain::TableRejection>) -> HandleError {
    HandleError::Retry(Box::new(error))
}
