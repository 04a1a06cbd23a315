//! The booking saga: turns the table-manager's lock decisions into the booking's outcome,
//! and rejects bookings whose lock does not come in time.

use std::sync::Arc;
use std::time::Duration;

use domain::{Booking, BookingCommand, BookingRejection};
use events::{BookingEvent, BookingId, CommandId, RejectionReason, TableEvent, names};
use eventstore::{
    AppendContext, Delivery, ExecuteError, HandleError, Handler, Recorded, Repository,
};

/// Durable consumer of the saga on `TABLES`.
pub const SAGA_CONSUMER: &str = "booking-saga";
/// Durable consumer of the timeouts on `BOOKINGS`.
pub const TIMEOUT_CONSUMER: &str = "booking-timeouts";

/// Confirms or rejects bookings as their locks are decided.
#[derive(Debug)]
pub struct BookingSaga {
    pub bookings: Arc<Repository<Booking>>,
}

impl Handler for BookingSaga {
    async fn handle(&self, delivery: &Delivery) -> Result<(), HandleError> {
        let recorded = delivery.decode::<TableEvent>()?;
        let (booking, command, step) = match &recorded.event {
            TableEvent::LockPlaced(lock) => (
                lock.booking_id,
                BookingCommand::Confirm {
                    table_id: lock.id.clone(),
                    time_slot: lock.time_slot,
                },
                "confirm",
            ),
            TableEvent::LockPlacementFailed(failed) => (
                failed.booking_id,
                BookingCommand::Reject {
                    reason: failed.reason.into(),
                },
                "reject",
            ),
            _ => return Ok(()),
        };
        execute(&self.bookings, booking, &command, step, &recorded).await
    }
}

/// Rejects a booking still `initiated` once `timeout` has passed since it was made.
///
/// The timer is the `table-booking-initiated` event itself: its delivery is deferred until
/// the deadline, so it survives restarts of every booker (ADR 0006).
#[derive(Debug)]
pub struct Timeouts {
    pub bookings: Arc<Repository<Booking>>,
    pub timeout: Duration,
}

impl Handler for Timeouts {
    async fn handle(&self, delivery: &Delivery) -> Result<(), HandleError> {
        let recorded = delivery.decode::<BookingEvent>()?;
        let BookingEvent::Initiated(initiated) = &recorded.event else {
            return Ok(());
        };
        let elapsed = jiff::Timestamp::now().duration_since(recorded.metadata.occurred_at);
        let elapsed = Duration::try_from(elapsed).unwrap_or(Duration::ZERO);
        if elapsed < self.timeout {
            return Err(HandleError::Defer(
                self.timeout - elapsed + Duration::from_millis(5),
            ));
        }
        let command = BookingCommand::Reject {
            reason: RejectionReason::Timeout,
        };
        execute(&self.bookings, initiated.id, &command, "timeout", &recorded).await
    }
}

/// Runs a saga step on a booking. A refusal means the step no longer applies (the booking
/// moved on: cancelled, timed out, confirmed); it is logged and the message settled.
async fn execute<E>(
    bookings: &Repository<Booking>,
    booking: BookingId,
    command: &BookingCommand,
    step: &str,
    cause: &Recorded<E>,
) -> Result<(), HandleError> {
    let context = AppendContext {
        command_id: CommandId::caused_by(step, cause.metadata.event_id),
        correlation_id: cause.metadata.correlation_id,
        causation_id: cause.metadata.event_id.into(),
    };
    match bookings
        .execute(&names::booking_subject(&booking), command, &context)
        .await
    {
        Ok(_) => Ok(()),
        Err(ExecuteError::Rejected(BookingRejection::NotFound)) => Err(HandleError::Poison(
            format!("{step}: booking {booking} does not exist"),
        )),
        Err(ExecuteError::Rejected(rejection)) => {
            // A late lock for a booking that is no longer live: table-manager releases it
            // when it sees the rejection or cancellation (it reads BOOKINGS in order).
            tracing::info!(%booking, step, %rejection, "saga step no longer applies");
            Ok(())
        }
        Err(error) => Err(HandleError::Retry(Box::new(error))),
    }
}
