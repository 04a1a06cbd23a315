//! Cancel: a guest (with the access code) or staff cancel a booking. Its tables are
//! released by table-manager on the event; a place this booker gave it is free again for
//! the next party at once.

use domain::{Booking, BookingCommand, BookingRejection};
use events::{BookingId, CancellationCause};
use eventstore::{AppendContext, EventLog, ExecuteError, Repository};
use jiff::Timestamp;

use crate::seating::assignment::Claims;

/// What cancelling needs.
#[derive(Debug)]
pub struct Cancel<'a, L: EventLog> {
    pub bookings: &'a Repository<Booking, L>,
    pub claims: &'a Claims,
}

impl<L: EventLog> Cancel<'_, L> {
    /// Cancels booking `id` for `cause` at `now`: the booking as it stands after (a
    /// booking cancelled already stays as it is), or why it cannot be.
    pub async fn cancel(
        &self,
        id: BookingId,
        cause: CancellationCause,
        now: Timestamp,
    ) -> Result<Booking, ExecuteError<BookingRejection>> {
        let command = BookingCommand::Cancel { cause, now };
        // A retry finds the booking cancelled and writes nothing more.
        let context = AppendContext::unique("cancel", id.into());
        let executed = self.bookings.execute(&id, &command, &context).await?;
        self.claims.release(id);
        Ok(executed.into_state())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::time::{Duration, Instant};

    use events::fixtures::*;
    use events::read_model::{TableView, TablesView};
    use events::{BookingEvent, BookingStatus, RejectionReason};
    use eventstore::InMemory;
    use eventstore::testing::Scenario;

    use super::*;
    use crate::seating::floor::Floor;

    /// An hour before the fixtures' dinner slot.
    fn before_dinner() -> Timestamp {
        ts("2026-12-24T17:00:00Z")
    }

    async fn cancel(
        scenario: &Scenario,
        claims: &Claims,
        id: BookingId,
        now: Timestamp,
    ) -> Result<Booking, ExecuteError<BookingRejection>> {
        let bookings: Repository<Booking, InMemory> = Repository::new(scenario.log(), 100, 4);
        let cancel = Cancel {
            bookings: &bookings,
            claims,
        };
        cancel.cancel(id, CancellationCause::Customer, now).await
    }

    /// Claims with one standing for `id` on t1 at dinner.
    fn claimed(id: BookingId) -> Claims {
        let claims = Claims::new(Duration::from_secs(40));
        let mut tables = TablesView::default();
        let view = TableView {
            seats: 4,
            removed: false,
            sequence: 1,
        };
        tables.tables.insert(t1(), view);
        let floor = Floor {
            tables,
            locks: Vec::new(),
        };
        let given = claims.give(
            id,
            &floor,
            dinner(),
            people(2),
            &BTreeSet::new(),
            Instant::now(),
        );
        assert!(given.is_some(), "t1 given");
        claims
    }

    #[tokio::test]
    async fn given_a_confirmed_booking_when_the_guest_cancels_it_then_it_is_cancelled_and_its_claim_goes()
     {
        let id = BookingId::new();
        let mut scenario = Scenario::new().given(&id, [initiated(id, 2), confirmed(id)]);
        scenario.mark();
        let claims = claimed(id);
        let booking = cancel(&scenario, &claims, id, before_dinner())
            .await
            .expect("cancelled");
        assert_eq!(booking.status, Some(BookingStatus::Cancelled));
        let recorded = scenario.then::<BookingEvent>();
        assert!(
            matches!(recorded.as_slice(), [BookingEvent::Cancelled(c)] if c.cause == CancellationCause::Customer),
            "{recorded:?}"
        );
        assert_eq!(claims.len(), 0);
    }

    #[tokio::test]
    async fn given_a_cancelled_booking_when_it_is_cancelled_again_then_nothing_is_written() {
        let id = BookingId::new();
        let mut scenario =
            Scenario::new().given(&id, [initiated(id, 2), confirmed(id), cancelled(id)]);
        scenario.mark();
        let claims = Claims::new(Duration::from_secs(40));
        let booking = cancel(&scenario, &claims, id, before_dinner())
            .await
            .expect("answered");
        assert_eq!(booking.status, Some(BookingStatus::Cancelled));
        assert_eq!(scenario.then::<BookingEvent>(), vec![]);
    }

    #[tokio::test]
    async fn given_a_rejected_booking_or_one_whose_slot_has_started_when_cancelled_then_it_is_refused_and_its_claim_stands()
     {
        let rejected_id = BookingId::new();
        let started_id = BookingId::new();
        let mut scenario = Scenario::new()
            .given(
                &rejected_id,
                [
                    initiated(rejected_id, 2),
                    rejected(rejected_id, RejectionReason::SlotTaken),
                ],
            )
            .given(
                &started_id,
                [initiated(started_id, 2), confirmed(started_id)],
            );
        scenario.mark();
        let claims = claimed(started_id);
        let refused = cancel(&scenario, &claims, rejected_id, before_dinner()).await;
        assert!(
            matches!(
                refused,
                Err(ExecuteError::Rejected(BookingRejection::AlreadyRejected))
            ),
            "{refused:?}"
        );
        let during_dinner = ts("2026-12-24T18:30:00Z");
        let refused = cancel(&scenario, &claims, started_id, during_dinner).await;
        assert!(
            matches!(
                refused,
                Err(ExecuteError::Rejected(BookingRejection::SlotStarted))
            ),
            "{refused:?}"
        );
        assert_eq!(scenario.then::<BookingEvent>(), vec![]);
        assert_eq!(claims.len(), 1, "a refusal lets nothing go");
    }
}
