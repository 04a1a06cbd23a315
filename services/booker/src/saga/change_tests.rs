//! Given/when/then tests of the saga steps and the timeout of a change (ADR 0029).

use events::fixtures::{change_requested, confirmed, dinner, initiated, lunch, place_at};
use events::{
    BookingPlace, ChangeRejectionReason, LockFailureReason, TableBookingChangeRejected,
    TableBookingChanged, TableLockPlaced, TableLockPlacementFailed,
};
use eventstore::testing::Scenario;

use super::tests::{TIMEOUT, saga, timeouts};
use super::*;

fn table(raw: &str) -> TableId {
    TableId::parse(raw).expect("table id")
}

fn from() -> BookingPlace {
    place_at(dinner(), &["t1"], 2)
}

fn to() -> BookingPlace {
    place_at(lunch(), &["t2", "t3"], 6)
}

/// A confirmed booking at dinner with its change to lunch pending; the request as stored.
fn pending(id: BookingId) -> (Scenario, Recorded<BookingEvent>) {
    let mut scenario = Scenario::new().given(&id, [initiated(id, 2), confirmed(id)]);
    let requested = scenario.when(&id, change_requested(id, 1, from(), to()).into());
    (scenario, requested)
}

fn locked(raw: &str, id: BookingId) -> TableEvent {
    TableLockPlaced {
        id: table(raw),
        time_slot: lunch(),
        booking_id: id,
        revision: 1,
    }
    .into()
}

fn change_rejected(id: BookingId, reason: ChangeRejectionReason) -> BookingEvent {
    TableBookingChangeRejected {
        id,
        revision: 1,
        reason,
        from: from(),
        to: to(),
    }
    .into()
}

#[tokio::test]
async fn given_a_pending_change_when_its_last_new_table_is_locked_then_the_booking_is_changed() {
    let id = BookingId::new();
    let (mut scenario, _) = pending(id);
    let first = scenario.when(&table("t2"), locked("t2", id));
    saga(&scenario).react(&first).await.expect("t2");
    assert_eq!(scenario.then::<BookingEvent>(), vec![]);
    let last = scenario.when(&table("t3"), locked("t3", id));
    saga(&scenario).react(&last).await.expect("t3");
    let changed: BookingEvent = TableBookingChanged {
        id,
        revision: 1,
        from: from(),
        to: to(),
    }
    .into();
    let then = scenario.then_recorded::<BookingEvent>();
    assert_eq!(then.len(), 1);
    assert_eq!(then[0].event, changed);
    assert_eq!(then[0].metadata.causation_id, last.metadata.event_id.into());
    // Redelivered: nothing more.
    scenario.mark();
    saga(&scenario).react(&last).await.expect("redelivery");
    assert_eq!(scenario.then::<BookingEvent>(), vec![]);
}

#[tokio::test]
async fn given_a_pending_change_when_a_new_table_is_refused_then_the_change_is_rejected_with_that_reason()
 {
    let id = BookingId::new();
    let (mut scenario, _) = pending(id);
    let refused = TableLockPlacementFailed {
        id: table("t2"),
        time_slot: lunch(),
        booking_id: id,
        revision: 1,
        reason: LockFailureReason::SlotTaken,
    };
    let refused = scenario.when(&table("t2"), refused.into());
    saga(&scenario).react(&refused).await.expect("step");
    assert_eq!(
        scenario.then::<BookingEvent>(),
        vec![change_rejected(id, ChangeRejectionReason::SlotTaken)]
    );
}

#[tokio::test]
async fn given_a_pending_change_when_the_timeout_has_not_passed_then_it_waits_and_after_it_is_rolled_back()
 {
    let id = BookingId::new();
    let (mut scenario, requested) = pending(id);
    let stored = requested.metadata.occurred_at;
    let early = timeouts(&scenario)
        .react(&requested, stored, stored + Duration::from_secs(10))
        .await;
    assert!(matches!(early, Err(HandleError::Defer(_))), "{early:?}");
    assert_eq!(scenario.then::<BookingEvent>(), vec![]);
    timeouts(&scenario)
        .react(&requested, stored, stored + TIMEOUT)
        .await
        .expect("step");
    assert_eq!(
        scenario.then::<BookingEvent>(),
        vec![change_rejected(id, ChangeRejectionReason::Timeout)]
    );
    // A lock that comes after the rollback changes nothing (table-manager frees it).
    scenario.mark();
    let late = scenario.when(&table("t3"), locked("t3", id));
    saga(&scenario).react(&late).await.expect("late lock");
    assert_eq!(scenario.then::<BookingEvent>(), vec![]);
}

#[tokio::test]
async fn given_a_change_done_when_its_timeout_passes_then_nothing_is_rolled_back() {
    let id = BookingId::new();
    let (mut scenario, requested) = pending(id);
    let changed = TableBookingChanged {
        id,
        revision: 1,
        from: from(),
        to: to(),
    };
    scenario.when(&id, changed.into());
    let stored = requested.metadata.occurred_at;
    timeouts(&scenario)
        .react(&requested, stored, stored + TIMEOUT)
        .await
        .expect("step");
    assert_eq!(scenario.then::<BookingEvent>(), vec![]);
}
