//! Given/when/then tests of the locking saga's steps for one table.

use events::{LockFailureReason, TableEvent, TableId, names};
use eventstore::testing::Scenario;
use eventstore::{Clock, InMemory};

use super::*;
use events::fixtures::*;

/// The saga on `scenario`'s log, deciding at [`early`].
pub(super) fn saga(scenario: &Scenario) -> LockingSaga<InMemory> {
    LockingSaga {
        tables: Arc::new(Tables::with_clock(scenario.log(), early())),
    }
}

/// A clock before every fixture slot.
pub(super) fn early() -> Clock {
    Clock::fixed(ts("2026-12-01T00:00:00Z"))
}

pub(super) fn table(raw: &str) -> TableId {
    TableId::parse(raw).expect("table id")
}

#[tokio::test]
async fn given_a_free_table_when_a_booking_is_initiated_then_the_lock_is_placed() {
    let booking = BookingId::new();
    let mut scenario = Scenario::new().given(&t1(), [added(4)]);
    let initiated = scenario.when(&booking, initiated(booking, 2));
    saga(&scenario).react(&initiated).await.expect("step");
    let then = scenario.then_recorded::<TableEvent>();
    assert_eq!(then.len(), 1);
    assert_eq!(then[0].event, placed(booking));
    assert_eq!(then[0].subject, "tables.t1");
    assert_eq!(
        then[0].metadata.correlation_id, initiated.metadata.correlation_id,
        "the saga's correlation id carries over"
    );
    assert_eq!(
        then[0].metadata.causation_id,
        initiated.metadata.event_id.into()
    );
}

#[tokio::test]
async fn given_a_lock_placed_when_the_initiated_event_is_redelivered_then_nothing_is_appended() {
    let booking = BookingId::new();
    let mut scenario = Scenario::new().given(&t1(), [added(4)]);
    let initiated = scenario.when(&booking, initiated(booking, 2));
    let saga = saga(&scenario);
    saga.react(&initiated).await.expect("first delivery");
    scenario.mark();
    saga.react(&initiated).await.expect("redelivery");
    // A fresh replica (empty cache) deciding again appends nothing either.
    self::saga(&scenario)
        .react(&initiated)
        .await
        .expect("redelivery elsewhere");
    assert_eq!(scenario.then::<TableEvent>(), vec![]);
}

#[tokio::test]
async fn given_a_lock_for_another_booking_when_a_booking_is_initiated_then_placement_fails_with_slot_taken()
 {
    let (holder, booking) = (BookingId::new(), BookingId::new());
    let mut scenario = Scenario::new().given(&t1(), [added(4), placed(holder)]);
    let initiated = scenario.when(&booking, initiated(booking, 2));
    saga(&scenario).react(&initiated).await.expect("step");
    assert_eq!(
        scenario.then::<TableEvent>(),
        vec![failed(&t1(), booking, LockFailureReason::SlotTaken)]
    );
}

#[tokio::test]
async fn given_a_table_for_two_when_a_party_of_four_is_initiated_then_placement_fails_with_too_small()
 {
    let booking = BookingId::new();
    let mut scenario = Scenario::new().given(&t1(), [added(2)]);
    let initiated = scenario.when(&booking, initiated(booking, 4));
    saga(&scenario).react(&initiated).await.expect("step");
    assert_eq!(
        scenario.then::<TableEvent>(),
        vec![failed(&t1(), booking, LockFailureReason::TooSmall)]
    );
}

#[tokio::test]
async fn given_a_removed_table_when_a_booking_is_initiated_then_placement_fails_with_table_removed()
{
    let booking = BookingId::new();
    let mut scenario = Scenario::new().given(&t1(), [added(4), removed()]);
    let initiated = scenario.when(&booking, initiated(booking, 2));
    saga(&scenario).react(&initiated).await.expect("step");
    assert_eq!(
        scenario.then::<TableEvent>(),
        vec![failed(&t1(), booking, LockFailureReason::TableRemoved)]
    );
}

#[tokio::test]
async fn given_no_such_table_when_a_booking_is_initiated_then_the_failure_goes_to_the_unknown_tables_subject()
 {
    let booking = BookingId::new();
    let ghost = TableId::parse("ghost").expect("id");
    let mut scenario = Scenario::new();
    let initiated = scenario.when(&booking, initiated_for(&ghost, booking, 2));
    saga(&scenario).react(&initiated).await.expect("step");
    let then = scenario.then_recorded::<TableEvent>();
    assert_eq!(then.len(), 1);
    assert_eq!(
        then[0].event,
        failed(&ghost, booking, LockFailureReason::TableNotFound)
    );
    assert_eq!(then[0].subject, names::UNKNOWN_TABLES_SUBJECT);
}

#[tokio::test]
async fn given_a_booking_the_gateway_rejected_for_an_unknown_table_when_it_is_initiated_then_nothing_is_appended()
 {
    // Even if the table exists by now: the booking was decided when it was made.
    let booking = BookingId::new();
    let mut scenario = Scenario::new().given(&t1(), [added(4)]);
    let mut request = request_for(&t1(), booking, 2);
    request.unknown_table = true;
    let initiated = scenario.when(&booking, BookingEvent::from(request));
    saga(&scenario).react(&initiated).await.expect("step");
    assert_eq!(scenario.then::<TableEvent>(), vec![]);
}

#[tokio::test]
async fn given_a_lock_when_its_booking_is_cancelled_then_the_lock_is_removed() {
    let booking = BookingId::new();
    let mut scenario = Scenario::new()
        .given(&t1(), [added(4), placed(booking)])
        .given(&booking, [initiated(booking, 2)]);
    let cancelled = scenario.when(&booking, cancelled(booking));
    saga(&scenario).react(&cancelled).await.expect("step");
    assert_eq!(
        scenario.then::<TableEvent>(),
        vec![lock_removed(booking, LockRemovalCause::BookingCancelled)]
    );
}

#[tokio::test]
async fn given_a_late_lock_when_its_booking_times_out_then_the_lock_is_removed() {
    let booking = BookingId::new();
    let mut scenario = Scenario::new()
        .given(&t1(), [added(4), placed(booking)])
        .given(&booking, [initiated(booking, 2)]);
    let timed_out = scenario.when(&booking, rejected(booking, RejectionReason::Timeout));
    saga(&scenario).react(&timed_out).await.expect("step");
    assert_eq!(
        scenario.then::<TableEvent>(),
        vec![lock_removed(booking, LockRemovalCause::BookingRejected)]
    );
}

#[tokio::test]
async fn given_a_failed_placement_when_the_booking_is_rejected_for_it_then_nothing_is_appended() {
    let booking = BookingId::new();
    let mut scenario = Scenario::new().given(
        &t1(),
        [
            added(4),
            failed(&t1(), booking, LockFailureReason::SlotTaken),
        ],
    );
    let rejected = scenario.when(&booking, rejected(booking, RejectionReason::SlotTaken));
    saga(&scenario).react(&rejected).await.expect("step");
    assert_eq!(scenario.then::<TableEvent>(), vec![]);
}

#[tokio::test]
async fn given_a_cancellation_written_before_v2_when_it_is_delivered_then_the_table_comes_from_the_booking()
 {
    let booking = BookingId::new();
    let mut scenario = Scenario::new()
        .given(&t1(), [added(4), placed(booking)])
        .given(&booking, [initiated(booking, 2)]);
    let cancelled = scenario.when(&booking, cancelled_v1(booking));
    saga(&scenario).react(&cancelled).await.expect("step");
    assert_eq!(
        scenario.then::<TableEvent>(),
        vec![lock_removed(booking, LockRemovalCause::BookingCancelled)]
    );
}

#[tokio::test]
async fn given_a_cancellation_handled_before_the_lock_request_when_the_request_arrives_then_no_lock_is_placed()
 {
    let booking = BookingId::new();
    let mut scenario = Scenario::new().given(&t1(), [added(4)]);
    let initiated = scenario.when(&booking, initiated(booking, 2));
    let cancelled = scenario.when(&booking, cancelled(booking));
    // The cancellation overtakes the lock request (a crash before its ack, a second
    // replica): whatever the order, the table ends free.
    saga(&scenario).react(&cancelled).await.expect("release");
    saga(&scenario)
        .react(&initiated)
        .await
        .expect("late request");
    assert_eq!(
        scenario.then::<TableEvent>(),
        vec![lock_removed(booking, LockRemovalCause::BookingCancelled)]
    );
}

#[tokio::test]
async fn given_a_timeout_handled_before_the_lock_request_when_the_request_arrives_then_no_lock_is_placed()
 {
    let booking = BookingId::new();
    let mut scenario = Scenario::new().given(&t1(), [added(4)]);
    let initiated = scenario.when(&booking, initiated(booking, 2));
    let timed_out = scenario.when(&booking, rejected(booking, RejectionReason::Timeout));
    saga(&scenario).react(&timed_out).await.expect("release");
    saga(&scenario)
        .react(&initiated)
        .await
        .expect("late request");
    let locks: Vec<_> = scenario
        .then::<TableEvent>()
        .into_iter()
        .filter(|e| matches!(e, TableEvent::LockPlaced(_)))
        .collect();
    assert_eq!(locks, vec![]);
}

#[tokio::test]
async fn given_a_lock_for_an_ended_slot_when_the_request_is_redelivered_then_nothing_is_appended() {
    let booking = BookingId::new();
    let mut scenario = Scenario::new().given(&t1(), [added(4)]);
    let initiated = scenario.when(&booking, initiated(booking, 2));
    let late = LockingSaga {
        tables: Arc::new(Tables::with_clock(
            scenario.log(),
            Clock::fixed(dinner().to()),
        )),
    };
    late.react(&initiated).await.expect("step");
    assert_eq!(scenario.then::<TableEvent>(), vec![]);
}

#[tokio::test]
async fn given_a_table_a_follower_has_not_seen_yet_when_a_booking_is_initiated_then_the_lock_is_placed()
 {
    let booking = BookingId::new();
    let mut scenario = Scenario::new().given(&t1(), [added(4)]);
    let initiated = scenario.when(&booking, initiated(booking, 2));
    // Plain loads come from a replica that has not applied `table-added` yet.
    scenario.log().set_follower_lag(1);
    saga(&scenario).react(&initiated).await.expect("step");
    assert_eq!(scenario.then::<TableEvent>(), vec![placed(booking)]);
}

#[tokio::test]
async fn given_the_store_unavailable_when_a_booking_is_initiated_then_the_step_is_retried() {
    let booking = BookingId::new();
    let mut scenario = Scenario::new().given(&t1(), [added(4)]);
    let initiated = scenario.when(&booking, initiated(booking, 2));
    scenario.log().set_unavailable(true);
    let outcome = saga(&scenario).react(&initiated).await;
    assert!(matches!(outcome, Err(HandleError::Retry(_))), "{outcome:?}");
    scenario.log().set_unavailable(false);
    assert_eq!(scenario.then::<TableEvent>(), vec![]);
}

#[tokio::test]
async fn given_a_lock_placed_when_the_booking_is_confirmed_or_erased_then_the_tables_are_left_alone_so_both_are_ignored()
 {
    use events::{DomainEvent as _, TableBookingCustomerErased};
    let booking = BookingId::new();
    let mut scenario = Scenario::new().given(&t1(), [added(4)]);
    let initiated = scenario.when(&booking, initiated(booking, 2));
    let saga = saga(&scenario);
    saga.react(&initiated).await.expect("locked");
    let erased: BookingEvent = TableBookingCustomerErased { id: booking }.into();
    for event in [confirmed(booking), erased] {
        assert!(saga.ignores().contains(&event.event_type()), "{event:?}");
        let recorded = scenario.when(&booking, event);
        scenario.mark();
        saga.react(&recorded).await.expect("step");
        assert_eq!(scenario.then::<TableEvent>(), vec![]);
    }
}
