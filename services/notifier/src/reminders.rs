//! Reminders, `REMINDER_BEFORE` the slot starts. The timer is the booking's
//! `table-booking-confirmed` (or `-changed`, for its new slot) event itself, handed back
//! by its durable consumer until the reminder is due, as the lock release timers are
//! (ADR 0006): it survives restarts of every notifier. When due, the booking as the
//! stream's leader has it decides: no reminder for a booking cancelled, erased, or moved
//! to another slot since (the change's own timer reminds of that one), nor for one made
//! or moved too late for a reminder. One reminder per booking and slot.

use std::sync::Arc;
use std::time::Duration;

use events::{BookingEvent, BookingId, BookingStatus, TableId, TimeSlot};
use eventstore::{Delivery, HandleError, Handler};
use jiff::Timestamp;

use crate::emails::{Heard, Place, Post};
use crate::letters::Kind;

/// Durable consumer of the reminders on `BOOKINGS`.
pub const CONSUMER: &str = "notifier-reminders";

/// A timer further out than this is checked again then.
const MAX_DEFER: Duration = Duration::from_secs(3600);

/// The consumer of reminder timers.
#[derive(Debug)]
pub struct Reminders {
    pub post: Arc<Post>,
    /// `REMINDER_BEFORE`.
    pub before: Duration,
    /// When its durable consumer was made.
    pub consumer_made: Timestamp,
}

impl Handler for Reminders {
    async fn handle(&self, delivery: &Delivery) -> Result<(), HandleError> {
        let recorded = delivery.decode::<BookingEvent>()?;
        let (id, slot, tables) = match &recorded.event {
            BookingEvent::Confirmed(e) => (e.id, e.time_slot, e.table_ids.clone()),
            BookingEvent::Changed(e) => (e.id, e.to.time_slot, e.to.table_ids.clone()),
            _ => return Ok(()),
        };
        self.remind(id, (slot, tables), delivery.stored_at, Timestamp::now())
            .await
    }

    /// A reminder is timed by a confirmation or a change only.
    fn ignores(&self) -> &'static [&'static str] {
        &[
            <events::TableBookingInitiated as events::EventType>::TYPE,
            <events::TableBookingRejected as events::EventType>::TYPE,
            <events::TableBookingCancelled as events::EventType>::TYPE,
            <events::TableBookingCustomerErased as events::EventType>::TYPE,
            <events::TableBookingReassigned as events::EventType>::TYPE,
            <events::TableBookingChangeRequested as events::EventType>::TYPE,
            <events::TableBookingChangeRejected as events::EventType>::TYPE,
        ]
    }
}

impl Reminders {
    /// The step for a booking confirmed (or moved) into `slot` by an event stored at
    /// `stored_at`, at `now`.
    pub async fn remind(
        &self,
        id: BookingId,
        (slot, tables): (TimeSlot, Vec<TableId>),
        stored_at: Timestamp,
        now: Timestamp,
    ) -> Result<(), HandleError> {
        let before =
            jiff::SignedDuration::try_from(self.before).unwrap_or(jiff::SignedDuration::MAX);
        let Ok(due) = slot.from().checked_sub(before) else {
            return Ok(());
        };
        // Made (or moved) within REMINDER_BEFORE of the slot: no reminder.
        if stored_at >= due || now >= slot.from() {
            return Ok(());
        }
        if now < due {
            let left = Duration::try_from(due.duration_since(now)).unwrap_or(MAX_DEFER);
            return Err(HandleError::Defer(
                (left + Duration::from_millis(5)).min(MAX_DEFER),
            ));
        }
        let (booking, _) = self
            .post
            .bookings
            .load_fresh(&id)
            .await
            .map_err(|e| HandleError::Retry(Box::new(e)))?;
        let stands = booking.status == Some(BookingStatus::Confirmed)
            && !booking.customer_erased
            && booking.time_slot == Some(slot);
        if !stands {
            return Ok(());
        }
        let place = Place {
            slot,
            tables,
            people: booking.people,
            previous: None,
        };
        let key = format!("reminder.{id}.{}", slot.from().as_second());
        let heard = Heard {
            stored_at,
            consumer_made: self.consumer_made,
        };
        self.post
            .deliver(Kind::Reminder, (id, heard), place, &key)
            .await
    }
}
