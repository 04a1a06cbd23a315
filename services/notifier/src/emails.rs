//! The emails of booking events: a confirmation (with the access code), a change, a
//! cancellation, and the reminders ([`crate::reminders`]). One email per event: a record
//! of each one sent ([`SentRecords`]) and a `Message-ID` derived from it, so a redelivery
//! sends nothing more. While the mail server is down or answers 4xx the event is retried,
//! with a backoff, for as long as it takes; a 5xx refusal is recorded, counted and
//! dead-lettered.
//!
//! The customer and the access code are read sealed with the booking's data key (ADR 0024,
//! 0031): once erased, nothing is sent.

use std::sync::Arc;

use domain::Booking;
use events::{
    BookingEvent, BookingId, Customer, EventId, TableBookingInitiated, TableId, TimeSlot,
};
use eventstore::{Delivery, EventStore, HandleError, Handler, Repository};
use jiff::tz::TimeZone;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use sealing::DataKeys;

use crate::letters::{Facts, Kind, letter};
use crate::mailer::{Mailer, Outgoing, SendError};
use crate::sent::{Outcome, SentRecords};

/// Counters of the emails, by kind and outcome.
#[derive(Debug, Clone, Default)]
pub struct Metrics {
    pub emails: Family<EmailLabels, Counter>,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct EmailLabels {
    pub kind: &'static str,
    /// `sent`, `refused`, `erased` (nobody to write to any more), `no_email`, `past`
    /// (about a slot that has started) or `before_notifier` (history of a booking made
    /// before the notifier, see [`Heard`]).
    pub outcome: &'static str,
}

/// What the emails are written with and sent through.
#[derive(Debug)]
pub struct Post {
    pub bookings: Arc<Repository<Booking, EventStore>>,
    pub keys: DataKeys,
    pub mailer: Mailer,
    pub sent: SentRecords,
    pub zone: TimeZone,
    pub guest_page: String,
    pub metrics: Metrics,
}

/// When a consumer of the notifier heard of an event: when the event was stored, against
/// when the consumer was made.
///
/// The consumers read `BOOKINGS` from its start, so a booking made before the notifier
/// first ran (the stack started in any order, or the notifier down for long) still gets
/// its emails. A store written by a release before the notifier holds bookings whose
/// guests were never written to: of those, only what happens after the consumer was made
/// is news; their past is not told to every guest at once.
#[derive(Debug, Clone, Copy)]
pub struct Heard {
    pub stored_at: jiff::Timestamp,
    pub consumer_made: jiff::Timestamp,
}

impl Heard {
    /// Whether an event about the booking `request` asks for is news to its guest: it
    /// happened after the consumer was made, or the booking was made by a release with a
    /// notifier (its request carries the sealed access code to send).
    pub fn is_news(self, request: &TableBookingInitiated) -> bool {
        self.stored_at >= self.consumer_made || request.sealed_access_code.is_some()
    }
}

/// Where a booking is, as an email tells it.
#[derive(Debug, Clone)]
pub struct Place {
    pub slot: TimeSlot,
    pub tables: Vec<TableId>,
    pub people: Option<events::PartySize>,
    /// Where it was before a change.
    pub previous: Option<TimeSlot>,
}

impl Post {
    /// Sends the email `key` of `kind` about booking `id` at `place`, unless it was sent
    /// or is no news ([`Heard`]).
    pub async fn deliver(
        &self,
        kind: Kind,
        (id, heard): (BookingId, Heard),
        place: Place,
        key: &str,
    ) -> Result<(), HandleError> {
        if self.sent.outcome(key).await.map_err(retry)?.is_some() {
            return Ok(());
        }
        // News of a slot that has started is no news (a consumer replayed from far back).
        if kind != Kind::Cancellation && jiff::Timestamp::now() >= place.slot.from() {
            self.count(kind, "past");
            return Ok(());
        }
        let (booking, _) = self.bookings.load(&id).await.map_err(retry)?;
        if booking.request.as_ref().is_some_and(|r| !heard.is_news(r)) {
            self.count(kind, "before_notifier");
            return Ok(());
        }
        let Some((customer, code)) = self.guest(&booking, kind).await? else {
            return Ok(());
        };
        let people = place.people.or(booking.people);
        let facts = Facts {
            booking: id,
            name: &customer.name,
            slot: place.slot,
            people,
            tables: &place.tables,
            code: code.as_deref(),
            previous: place.previous,
            guest_page: &self.guest_page,
            zone: &self.zone,
        };
        let outgoing = Outgoing {
            to_name: &customer.name,
            to_email: &customer.email,
            message_id: format!("{key}@restaurant-booking.notifier"),
            booking_id: id.to_string(),
            letter: letter(kind, &facts),
        };
        match self.mailer.send(&outgoing).await {
            Ok(()) => {
                self.sent.record(key, Outcome::Sent).await.map_err(retry)?;
                self.count(kind, "sent");
                tracing::info!(booking_id = %id, kind = kind.name(), "email sent");
                Ok(())
            }
            Err(SendError::Unavailable(reason)) => {
                tracing::warn!(booking_id = %id, kind = kind.name(), %reason, "email not sent yet");
                Err(HandleError::Retry(reason.into()))
            }
            Err(error @ (SendError::Refused(_) | SendError::Invalid(_))) => {
                self.sent
                    .record(key, Outcome::Refused)
                    .await
                    .map_err(retry)?;
                self.count(kind, "refused");
                Err(HandleError::Poison(format!(
                    "the {} email of booking {id} was refused: {error}",
                    kind.name()
                )))
            }
        }
    }

    /// Who to write to, and the access code for a confirmation: `None` when the booking has
    /// no customer or it was erased.
    async fn guest(
        &self,
        booking: &Booking,
        kind: Kind,
    ) -> Result<Option<(Customer, Option<String>)>, HandleError> {
        let Some(request) = &booking.request else {
            return Err(HandleError::Poison(
                "a booking event of no booking".to_owned(),
            ));
        };
        let customer = match (&request.sealed_customer, &request.customer) {
            _ if booking.customer_erased => None,
            (Some(sealed), _) => {
                let opened = self
                    .keys
                    .open_sealed(request.id, sealed)
                    .await
                    .map_err(retry)?;
                match opened {
                    Some(plain) => serde_json::from_slice::<Customer>(&plain).ok(),
                    None => None,
                }
            }
            // A booking of a release before customers were sealed.
            (None, Some(customer)) => Some(customer.clone()),
            (None, None) => {
                self.count(kind, "no_email");
                return Ok(None);
            }
        };
        let Some(customer) = customer else {
            self.count(kind, "erased");
            return Ok(None);
        };
        let code = match (&request.sealed_access_code, kind) {
            (Some(sealed), Kind::Confirmation) => self
                .keys
                .open_sealed(request.id, sealed)
                .await
                .map_err(retry)?
                .and_then(|plain| String::from_utf8(plain).ok()),
            _ => None,
        };
        Ok(Some((customer, code)))
    }

    fn count(&self, kind: Kind, outcome: &'static str) {
        self.metrics
            .emails
            .get_or_create_owned(&EmailLabels {
                kind: kind.name(),
                outcome,
            })
            .inc();
    }
}

/// The email key of the event `event` for `kind`.
pub fn key_of(kind: Kind, event: EventId) -> String {
    format!("{}.{event}", kind.name())
}

fn retry(error: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> HandleError {
    HandleError::Retry(error.into())
}

/// The consumer of confirmations, changes and cancellations.
#[derive(Debug)]
pub struct Emails {
    pub post: Arc<Post>,
    /// When its durable consumer was made.
    pub consumer_made: jiff::Timestamp,
}

impl Handler for Emails {
    async fn handle(&self, delivery: &Delivery) -> Result<(), HandleError> {
        let recorded = delivery.decode::<BookingEvent>()?;
        let event = recorded.metadata.event_id;
        let (kind, id, place) = match &recorded.event {
            BookingEvent::Confirmed(e) => (
                Kind::Confirmation,
                e.id,
                Place {
                    slot: e.time_slot,
                    tables: e.table_ids.clone(),
                    people: None,
                    previous: None,
                },
            ),
            BookingEvent::Changed(e) => (
                Kind::Change,
                e.id,
                Place {
                    slot: e.to.time_slot,
                    tables: e.to.table_ids.clone(),
                    people: e.to.people,
                    previous: Some(e.from.time_slot),
                },
            ),
            BookingEvent::Cancelled(e) => {
                let (booking, _) = self.post.bookings.load(&e.id).await.map_err(retry)?;
                let slot = e.time_slot.or(booking.time_slot);
                let Some(slot) = slot else {
                    return Ok(());
                };
                (
                    Kind::Cancellation,
                    e.id,
                    Place {
                        slot,
                        tables: e.table_ids.clone(),
                        people: booking.people,
                        previous: None,
                    },
                )
            }
            _ => return Ok(()),
        };
        let heard = Heard {
            stored_at: delivery.stored_at,
            consumer_made: self.consumer_made,
        };
        self.post
            .deliver(kind, (id, heard), place, &key_of(kind, event))
            .await
    }

    /// Only confirmations, changes and cancellations are written about.
    fn ignores(&self) -> &'static [&'static str] {
        UNTOLD
    }
}

/// The booking events no email tells (reminders come from their own consumer).
const UNTOLD: &[&str] = &[
    <events::TableBookingInitiated as events::EventType>::TYPE,
    <events::TableBookingRejected as events::EventType>::TYPE,
    <events::TableBookingCustomerErased as events::EventType>::TYPE,
    <events::TableBookingReassigned as events::EventType>::TYPE,
    <events::TableBookingChangeRequested as events::EventType>::TYPE,
    <events::TableBookingChangeRejected as events::EventType>::TYPE,
];

#[cfg(test)]
mod tests {
    use events::BookingId;
    use events::fixtures::{request_for, t1};
    use jiff::{SignedDuration, Timestamp};

    use super::Heard;

    fn made_at() -> Timestamp {
        "2026-12-07T20:00:00Z".parse().expect("a time")
    }

    fn heard(stored: SignedDuration) -> Heard {
        Heard {
            stored_at: made_at() + stored,
            consumer_made: made_at(),
        }
    }

    #[test]
    fn given_a_booking_made_with_a_notifier_before_it_first_ran_then_its_events_are_news() {
        let mut request = request_for(
            &t1(),
            BookingId::parse("0193f0b4-7c1e-7000-8000-000000000001").expect("id"),
            2,
        );
        request.sealed_access_code = Some("sealed".to_owned());
        assert!(heard(SignedDuration::from_secs(-60)).is_news(&request));
    }

    #[test]
    fn given_a_booking_of_a_release_before_the_notifier_then_its_past_is_not_news() {
        let request = request_for(
            &t1(),
            BookingId::parse("0193f0b4-7c1e-7000-8000-000000000001").expect("id"),
            2,
        );
        assert!(!heard(SignedDuration::from_secs(-1)).is_news(&request));
    }

    #[test]
    fn given_a_booking_of_a_release_before_the_notifier_then_what_happens_to_it_now_is_news() {
        let request = request_for(
            &t1(),
            BookingId::parse("0193f0b4-7c1e-7000-8000-000000000001").expect("id"),
            2,
        );
        assert!(heard(SignedDuration::ZERO).is_news(&request));
        assert!(heard(SignedDuration::from_secs(60)).is_news(&request));
    }
}
