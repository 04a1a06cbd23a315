//! Waiting for a booking's outcome: one subscription to the republished booking events
//! (`live.bookings.>`, only stored events appear there) feeds the requests that wait.
//!
//! A request registers before it appends `table-booking-initiated`, so the outcome cannot
//! slip past it; the registry's lock is never held across an await.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_nats::{Client, Subscriber};
use events::{BookingEvent, BookingId, DomainEvent as _, names};
use eventstore::Recorded;
use futures_util::StreamExt as _;
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

/// The requests waiting for outcomes, by booking.
#[derive(Debug, Default)]
pub struct Outcomes {
    waiting: Mutex<HashMap<BookingId, Vec<oneshot::Sender<BookingEvent>>>>,
}

/// One request's wait; leaves the registry when dropped.
#[derive(Debug)]
pub struct Waiter {
    booking: BookingId,
    receiver: oneshot::Receiver<BookingEvent>,
    outcomes: Arc<Outcomes>,
}

impl Outcomes {
    /// Subscribes to the republished booking events. Call before the gateway accepts
    /// bookings, so no request can register before the subscription exists.
    pub async fn subscribe(client: &Client) -> anyhow::Result<Subscriber> {
        let subscriber = client
            .subscribe(names::LIVE_BOOKINGS_SUBJECTS)
            .await
            .map_err(|e| anyhow::anyhow!("cannot subscribe to booking outcomes: {e}"))?;
        // The server knows the subscription once the flush returns.
        client
            .flush()
            .await
            .map_err(|e| anyhow::anyhow!("cannot flush the outcome subscription: {e}"))?;
        Ok(subscriber)
    }

    /// Starts waiting for the outcome of `booking`.
    pub fn register(self: &Arc<Self>, booking: BookingId) -> Waiter {
        let (sender, receiver) = oneshot::channel();
        if let Ok(mut waiting) = self.waiting.lock() {
            waiting.entry(booking).or_default().push(sender);
        }
        Waiter {
            booking,
            receiver,
            outcomes: self.clone(),
        }
    }

    fn is_awaited(&self, booking: BookingId) -> bool {
        self.waiting
            .lock()
            .is_ok_and(|waiting| waiting.contains_key(&booking))
    }

    fn notify(&self, booking: BookingId, event: &BookingEvent) {
        let senders = self
            .waiting
            .lock()
            .ok()
            .and_then(|mut waiting| waiting.remove(&booking));
        for sender in senders.into_iter().flatten() {
            // The waiter may have given up meanwhile; nothing to do then.
            let _ = sender.send(event.clone());
        }
    }

    /// Feeds outcomes to waiters until `shutdown`.
    pub async fn listen(
        self: Arc<Self>,
        mut subscriber: Subscriber,
        shutdown: CancellationToken,
    ) -> anyhow::Result<()> {
        loop {
            let message = tokio::select! {
                () = shutdown.cancelled() => return Ok(()),
                message = subscriber.next() => message,
            };
            let Some(message) = message else {
                anyhow::bail!("the booking outcome subscription ended");
            };
            let Some(stored) = message.subject.strip_prefix(names::LIVE_PREFIX) else {
                continue;
            };
            let Some(booking) = stored
                .strip_prefix("bookings.")
                .and_then(|id| BookingId::parse(id).ok())
            else {
                continue;
            };
            if !self.is_awaited(booking) || !is_outcome(message.headers.as_ref()) {
                continue;
            }
            match Recorded::<BookingEvent>::decode(
                stored,
                0,
                message.headers.as_ref(),
                &message.payload,
            ) {
                Ok(recorded) if OUTCOMES.contains(&recorded.event.event_type()) => {
                    self.notify(booking, &recorded.event);
                }
                Ok(_) => {}
                Err(error) => {
                    tracing::warn!(%booking, %error, "undecodable republished booking event")
                }
            }
        }
    }
}

/// The booking events a waiting request is told of.
const OUTCOMES: &[&str] = &[
    <events::TableBookingConfirmed as events::EventType>::TYPE,
    <events::TableBookingRejected as events::EventType>::TYPE,
    <events::TableBookingCancelled as events::EventType>::TYPE,
    <events::TableBookingChanged as events::EventType>::TYPE,
    <events::TableBookingChangeRejected as events::EventType>::TYPE,
];

/// Whether a republished event may be an outcome, by its type header alone (a request,
/// the largest event, is not decoded for nothing). Without the header it is decoded.
fn is_outcome(headers: Option<&async_nats::HeaderMap>) -> bool {
    headers
        .and_then(|headers| headers.get(names::headers::EVENT_TYPE))
        .is_none_or(|kind| OUTCOMES.contains(&kind.as_str()))
}

impl Waiter {
    /// The booking's next decisive event, or `None` after `timeout`.
    pub async fn wait(&mut self, timeout: Duration) -> Option<BookingEvent> {
        tokio::time::timeout(timeout, &mut self.receiver)
            .await
            .ok()?
            .ok()
    }
}

impl Drop for Waiter {
    fn drop(&mut self) {
        self.receiver.close();
        let Ok(mut waiting) = self.outcomes.waiting.lock() else {
            return;
        };
        if let Some(senders) = waiting.get_mut(&self.booking) {
            senders.retain(|sender| !sender.is_closed());
            if senders.is_empty() {
                waiting.remove(&self.booking);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use events::{RejectionReason, TableBookingRejected};

    #[tokio::test]
    async fn a_waiter_gets_the_outcome_and_leaves_no_trace_once_dropped() {
        let outcomes = Arc::new(Outcomes::default());
        let booking = BookingId::new();
        let mut first = outcomes.register(booking);
        let second = outcomes.register(booking);
        drop(second);
        assert!(outcomes.is_awaited(booking));
        let rejected: BookingEvent = TableBookingRejected {
            id: booking,
            reason: RejectionReason::SlotTaken,
            table_id: None,
            table_ids: Vec::new(),
            time_slot: None,
        }
        .into();
        outcomes.notify(booking, &rejected);
        assert_eq!(first.wait(Duration::from_secs(1)).await, Some(rejected));
        drop(first);
        assert!(!outcomes.is_awaited(booking));

        let mut late = outcomes.register(booking);
        assert_eq!(late.wait(Duration::from_millis(10)).await, None);
        drop(late);
        assert!(outcomes.waiting.lock().expect("lock").is_empty());
    }
}
