//! Given/when/then tests of the locking saga's step for a booking of several tables
//! (ADR 0027), with each point where a crash can stop it.

use events::{
    BookingEvent, LockFailureReason, LockRemovalCause, TableBookingInitiated, TableEvent,
    TableLockPlaced, TableLockPlacementFailed, TableLockRemoved, names,
};
use eventstore::testing::Scenario;

use super::tests::{saga, table};
use super::*;
use events::fixtures::{cancelled, dinner, request_for};

fn added(raw: &str, seats: u64) -> TableEvent {
    events::TableAdded {
        id: table(raw),
        seats: events::Seats::new(seats).expect("seats"),
    }
    .into()
}

fn placed(raw: &str, booking: BookingId) -> TableEvent {
    TableLockPlaced {
        id: table(raw),
        time_slot: dinner(),
        booking_id: booking,
        revision: 0,
    }
    .into()
}

fn failed(raw: &str, booking: BookingId, reason: LockFailureReason) -> TableEvent {
    TableLockPlacementFailed {
        id: table(raw),
        time_slot: dinner(),
        booking_id: booking,
        revision: 0,
        reason,
    }
    .into()
}

fn removed(raw: &str, booking: BookingId, cause: LockRemovalCause) -> TableEvent {
    TableLockRemoved {
        id: table(raw),
        time_slot: dinner(),
        booking_id: booking,
        revision: 0,
        cause,
    }
    .into()
}

/// A booking of `tables` joined for a party of 10 (each table seats 4).
fn joined(booking: BookingId, tables: &[&str]) -> BookingEvent {
    TableBookingInitiated {
        table_id: None,
        table_ids: tables.iter().map(|t| table(t)).collect(),
        assigned: true,
        ..request_for(&table("a1"), booking, 10)
    }
    .into()
}

/// Tables a1, a2 and a3 of four seats each.
fn three_tables() -> Scenario {
    ["a1", "a2", "a3"]
        .iter()
        .fold(Scenario::new(), |scenario, raw| {
            scenario.given(&table(raw), [added(raw, 4)])
        })
}

#[tokio::test]
async fn given_free_tables_when_a_joined_booking_is_initiated_then_each_is_locked_in_id_order() {
    let booking = BookingId::new();
    let mut scenario = three_tables();
    let initiated = scenario.when(&booking, joined(booking, &["a3", "a1", "a2"]));
    saga(&scenario).react(&initiated).await.expect("step");
    let then = scenario.then_recorded::<TableEvent>();
    let events: Vec<TableEvent> = then.iter().map(|r| r.event.clone()).collect();
    assert_eq!(
        events,
        vec![
            placed("a1", booking),
            placed("a2", booking),
            placed("a3", booking)
        ],
        "the party is larger than any one table: seats are the combination's business"
    );
    let subjects: Vec<&str> = then.iter().map(|r| r.subject.as_str()).collect();
    assert_eq!(subjects, ["tables.a1", "tables.a2", "tables.a3"]);
    for recorded in &then {
        assert_eq!(
            recorded.metadata.correlation_id,
            initiated.metadata.correlation_id
        );
    }
}

#[tokio::test]
async fn given_one_table_taken_when_a_joined_booking_is_initiated_then_what_was_placed_is_released_and_the_rest_barred()
 {
    let (holder, booking) = (BookingId::new(), BookingId::new());
    let mut scenario = three_tables().given(&table("a2"), [placed("a2", holder)]);
    let initiated = scenario.when(&booking, joined(booking, &["a1", "a2", "a3"]));
    saga(&scenario).react(&initiated).await.expect("step");
    let rejected = LockRemovalCause::BookingRejected;
    assert_eq!(
        scenario.then::<TableEvent>(),
        vec![
            placed("a1", booking),
            failed("a2", booking, LockFailureReason::SlotTaken),
            removed("a1", booking, rejected),
            // Barred: a redelivery that comes later cannot place it.
            removed("a3", booking, rejected),
        ]
    );
    // Redelivered, here or on a fresh replica: nothing more.
    scenario.mark();
    saga(&scenario).react(&initiated).await.expect("redelivery");
    assert_eq!(scenario.then::<TableEvent>(), vec![]);
}

#[tokio::test]
async fn given_a_crash_after_the_first_lock_when_the_booking_is_redelivered_then_the_rest_are_locked_once()
 {
    let booking = BookingId::new();
    let mut scenario = three_tables();
    let initiated = scenario.when(&booking, joined(booking, &["a1", "a2", "a3"]));
    // The first delivery locked a1, then its replica died.
    let first = saga(&scenario);
    first
        .tables
        .place_lock(
            &table("a1"),
            dinner(),
            booking,
            None,
            &AppendContext::caused_by(
                events::Step::PlaceLock.on(&table("a1")),
                &initiated.metadata,
            ),
        )
        .await
        .expect("a1");
    scenario.mark();
    saga(&scenario).react(&initiated).await.expect("redelivery");
    assert_eq!(
        scenario.then::<TableEvent>(),
        vec![placed("a2", booking), placed("a3", booking)]
    );
}

#[tokio::test]
async fn given_a_crash_between_a_refusal_and_its_compensation_when_redelivered_then_everything_is_released()
 {
    let (holder, booking) = (BookingId::new(), BookingId::new());
    // As the step left it: a1 placed, a2 refused, nothing released yet.
    let mut scenario = three_tables()
        .given(&table("a2"), [placed("a2", holder)])
        .given(&table("a1"), [placed("a1", booking)])
        .given(
            &table("a2"),
            [failed("a2", booking, LockFailureReason::SlotTaken)],
        );
    let initiated = scenario.when(&booking, joined(booking, &["a1", "a2", "a3"]));
    saga(&scenario).react(&initiated).await.expect("redelivery");
    let rejected = LockRemovalCause::BookingRejected;
    assert_eq!(
        scenario.then::<TableEvent>(),
        vec![
            removed("a1", booking, rejected),
            removed("a3", booking, rejected)
        ]
    );
}

#[tokio::test]
async fn given_a_crash_in_the_middle_of_the_compensation_when_redelivered_then_it_is_finished() {
    let (holder, booking) = (BookingId::new(), BookingId::new());
    let rejected = LockRemovalCause::BookingRejected;
    // a1 placed and already released, a2 refused; a3 not barred yet.
    let mut scenario = three_tables()
        .given(&table("a2"), [placed("a2", holder)])
        .given(
            &table("a1"),
            [placed("a1", booking), removed("a1", booking, rejected)],
        )
        .given(
            &table("a2"),
            [failed("a2", booking, LockFailureReason::SlotTaken)],
        );
    let initiated = scenario.when(&booking, joined(booking, &["a1", "a2", "a3"]));
    saga(&scenario).react(&initiated).await.expect("redelivery");
    assert_eq!(
        scenario.then::<TableEvent>(),
        vec![removed("a3", booking, rejected)]
    );
}

#[tokio::test]
async fn given_a_table_that_never_existed_in_a_joined_booking_then_nothing_stays_locked() {
    let booking = BookingId::new();
    let mut scenario = three_tables();
    let initiated = scenario.when(&booking, joined(booking, &["a1", "zz"]));
    saga(&scenario).react(&initiated).await.expect("step");
    let then = scenario.then_recorded::<TableEvent>();
    let events: Vec<(&str, TableEvent)> = then
        .iter()
        .map(|r| (r.subject.as_str(), r.event.clone()))
        .collect();
    assert_eq!(
        events,
        vec![
            ("tables.a1", placed("a1", booking)),
            (
                names::UNKNOWN_TABLES_SUBJECT,
                failed("zz", booking, LockFailureReason::TableNotFound)
            ),
            (
                "tables.a1",
                removed("a1", booking, LockRemovalCause::BookingRejected)
            ),
        ]
    );
}

#[tokio::test]
async fn given_a_confirmed_joined_booking_when_it_is_cancelled_then_every_table_is_freed() {
    let booking = BookingId::new();
    let mut scenario = three_tables()
        .given(&table("a1"), [placed("a1", booking)])
        .given(&table("a2"), [placed("a2", booking)])
        .given(&booking, [joined(booking, &["a1", "a2"])]);
    let mut cancellation = cancelled(booking);
    if let BookingEvent::Cancelled(e) = &mut cancellation {
        e.table_id = None;
        e.table_ids = vec![table("a1"), table("a2")];
    }
    let cancellation = scenario.when(&booking, cancellation);
    saga(&scenario).react(&cancellation).await.expect("step");
    let freed = LockRemovalCause::BookingCancelled;
    assert_eq!(
        scenario.then::<TableEvent>(),
        vec![removed("a1", booking, freed), removed("a2", booking, freed)]
    );
}
