//! Lock release timers: a lock is removed when its slot ends.
//!
//! The timer is the `table-lock-placed` event itself, held by a durable consumer: while the
//! slot runs the message is handed back with a delay (a deferred nak), so the timer lives
//! on the server and survives restarts of any replica (ADR 0006).

use std::sync::Arc;
use std::time::Duration;

use events::{LockRemovalCause, Step, TableEvent};
use eventstore::{AppendContext, Delivery, EventLog, EventStore, HandleError, Handler, Recorded};
use jiff::Timestamp;

use crate::tables::Tables;

/// Durable consumer of the timers on `TABLES`.
pub const CONSUMER: &str = "table-lock-timers";

/// A timer further out than this is checked again then: no delay is trusted for months.
const MAX_DEFER: Duration = Duration::from_secs(3600);

/// Handles table events for the lock timers.
#[derive(Debug)]
pub struct LockTimers<L: EventLog = EventStore> {
    pub tables: Arc<Tables<L>>,
}

impl<L: EventLog> Handler for LockTimers<L> {
    async fn handle(&self, delivery: &Delivery) -> Result<(), HandleError> {
        let recorded = delivery.decode::<TableEvent>()?;
        self.react(&recorded, self.tables.now()).await
    }
}

impl<L: EventLog> LockTimers<L> {
    /// The timer's step for one table event delivered at `now`: a placed lock whose slot
    /// has ended is removed; one whose slot runs is deferred until it ends.
    pub async fn react(
        &self,
        recorded: &Recorded<TableEvent>,
        now: Timestamp,
    ) -> Result<(), HandleError> {
        let TableEvent::LockPlaced(lock) = &recorded.event else {
            return Ok(());
        };
        let ends = lock.time_slot.to();
        if now < ends {
            let left = Duration::try_from(ends.duration_since(now)).unwrap_or(MAX_DEFER);
            // A few ms late rather than early: an early wake-up would just defer again.
            return Err(HandleError::Defer(
                (left + Duration::from_millis(5)).min(MAX_DEFER),
            ));
        }
        let context = AppendContext::caused_by(Step::SlotEnded, &recorded.metadata);
        self.tables
            .remove_lock(
                &lock.id,
                lock.booking_id,
                lock.time_slot,
                LockRemovalCause::SlotEnded,
                &context,
            )
            .await
            .map_err(|e| HandleError::Retry(Box::new(e)))
    }
}

#[cfg(test)]
mod tests {
    use events::{BookingId, TableEvent};
    use eventstore::InMemory;
    use eventstore::testing::Scenario;

    use super::*;
    use events::fixtures::*;

    fn timers(scenario: &Scenario) -> LockTimers<InMemory> {
        LockTimers {
            tables: Arc::new(Tables::new(scenario.log())),
        }
    }

    #[tokio::test]
    async fn given_a_lock_when_its_slot_has_ended_then_the_lock_is_removed() {
        let booking = BookingId::new();
        let mut scenario = Scenario::new().given(&t1(), [added(4)]);
        let lock = scenario.when(&t1(), placed(booking));
        timers(&scenario)
            .react(&lock, dinner().to())
            .await
            .expect("step");
        assert_eq!(
            scenario.then::<TableEvent>(),
            vec![lock_removed(booking, LockRemovalCause::SlotEnded)]
        );
    }

    #[tokio::test]
    async fn given_a_lock_when_its_slot_ends_in_ten_minutes_then_the_timer_waits_that_long() {
        let booking = BookingId::new();
        let mut scenario = Scenario::new().given(&t1(), [added(4)]);
        let lock = scenario.when(&t1(), placed(booking));
        let outcome = timers(&scenario)
            .react(&lock, ts("2026-12-24T19:50:00Z"))
            .await;
        let Err(HandleError::Defer(delay)) = outcome else {
            panic!("expected a deferral, got {outcome:?}");
        };
        assert!(
            (Duration::from_secs(600)..Duration::from_secs(601)).contains(&delay),
            "{delay:?}"
        );
        assert_eq!(scenario.then::<TableEvent>(), vec![]);
    }

    #[tokio::test]
    async fn given_a_lock_when_its_slot_ends_in_a_month_then_the_timer_checks_again_within_the_hour()
     {
        let booking = BookingId::new();
        let mut scenario = Scenario::new().given(&t1(), [added(4)]);
        let lock = scenario.when(&t1(), placed(booking));
        let outcome = timers(&scenario)
            .react(&lock, ts("2026-11-24T19:50:00Z"))
            .await;
        assert!(
            matches!(outcome, Err(HandleError::Defer(delay)) if delay == MAX_DEFER),
            "{outcome:?}"
        );
    }

    #[tokio::test]
    async fn given_a_lock_already_removed_by_a_cancellation_when_its_slot_ends_then_nothing_is_appended()
     {
        let booking = BookingId::new();
        let mut scenario = Scenario::new().given(&t1(), [added(4)]);
        let lock = scenario.when(&t1(), placed(booking));
        scenario = scenario.given(
            &t1(),
            [lock_removed(booking, LockRemovalCause::BookingCancelled)],
        );
        scenario.mark();
        timers(&scenario)
            .react(&lock, dinner().to())
            .await
            .expect("step");
        assert_eq!(scenario.then::<TableEvent>(), vec![]);
    }

    #[tokio::test]
    async fn given_any_other_table_event_when_it_is_delivered_then_the_timers_ignore_it() {
        let mut scenario = Scenario::new();
        let added = scenario.when(&t1(), added(4));
        timers(&scenario)
            .react(&added, dinner().to())
            .await
            .expect("step");
        assert_eq!(scenario.then::<TableEvent>(), vec![]);
    }
}
