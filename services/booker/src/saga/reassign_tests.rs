//! Given/when/then tests of the saga's step that gives a party booking by size its next
//! place when a race took the one it was given (ADR 0027).

use events::fixtures::{dinner, request_for, t1};
use events::{
    LockFailureReason, TableBookingConfirmed, TableBookingInitiated, TableBookingReassigned,
    TableLockPlaced, TableLockPlacementFailed,
};
use eventstore::InMemory;
use eventstore::testing::Scenario;

use super::tests::{Fixed, bookings};
use super::*;

fn table(raw: &str) -> TableId {
    TableId::parse(raw).expect("table id")
}

fn saga(scenario: &Scenario, next: NextPlace) -> BookingSaga<Fixed, InMemory> {
    BookingSaga {
        bookings: bookings(scenario),
        seating: Fixed(next),
    }
}

/// A party of two booking by size, given `tables`.
fn by_size(id: BookingId, tables: &[&str]) -> BookingEvent {
    TableBookingInitiated {
        table_id: None,
        table_ids: tables.iter().map(|t| table(t)).collect(),
        assigned: true,
        ..request_for(&t1(), id, 2)
    }
    .into()
}

fn refused(raw: &str, id: BookingId) -> TableEvent {
    TableLockPlacementFailed {
        id: table(raw),
        time_slot: dinner(),
        booking_id: id,
        revision: 0,
        reason: LockFailureReason::SlotTaken,
    }
    .into()
}

fn placed(raw: &str, id: BookingId) -> TableEvent {
    TableLockPlaced {
        id: table(raw),
        time_slot: dinner(),
        booking_id: id,
        revision: 0,
    }
    .into()
}

fn place(tables: &[&str]) -> NextPlace {
    NextPlace::Place {
        tables: tables.iter().map(|t| table(t)).collect(),
        combination: None,
    }
}

fn reassigned(id: BookingId, raw: &str) -> BookingEvent {
    TableBookingReassigned {
        id,
        table_id: Some(table(raw)),
        table_ids: vec![table(raw)],
        combination_id: None,
        time_slot: dinner(),
    }
    .into()
}

#[tokio::test]
async fn given_a_party_booking_by_size_when_its_table_is_taken_then_it_is_given_the_next_place() {
    let id = BookingId::new();
    let mut scenario = Scenario::new().given(&id, [by_size(id, &["a1"])]);
    let failure = scenario.when(&table("a1"), refused("a1", id));
    saga(&scenario, place(&["a2"]))
        .react(&failure)
        .await
        .expect("step");
    assert_eq!(scenario.then::<BookingEvent>(), vec![reassigned(id, "a2")]);
}

#[tokio::test]
async fn given_a_reassigned_booking_when_its_new_table_is_locked_then_it_is_confirmed_there() {
    let id = BookingId::new();
    let mut scenario = Scenario::new().given(&id, [by_size(id, &["a1"]), reassigned(id, "a2")]);
    // A lock of the place it lost means nothing (it was released); the new one confirms.
    let stale = scenario.when(&table("a1"), placed("a1", id));
    saga(&scenario, NextPlace::Nothing)
        .react(&stale)
        .await
        .expect("stale");
    let lock = scenario.when(&table("a2"), placed("a2", id));
    saga(&scenario, NextPlace::Nothing)
        .react(&lock)
        .await
        .expect("step");
    let confirmed: BookingEvent = TableBookingConfirmed {
        id,
        table_id: Some(table("a2")),
        table_ids: vec![table("a2")],
        time_slot: dinner(),
    }
    .into();
    assert_eq!(scenario.then::<BookingEvent>(), vec![confirmed]);
}

#[tokio::test]
async fn given_no_place_left_for_the_party_when_its_table_is_taken_then_it_is_rejected_as_no_table_available()
 {
    let id = BookingId::new();
    let mut scenario = Scenario::new().given(&id, [by_size(id, &["a1"])]);
    let failure = scenario.when(&table("a1"), refused("a1", id));
    saga(&scenario, NextPlace::Nothing)
        .react(&failure)
        .await
        .expect("step");
    let then = scenario.then::<BookingEvent>();
    let [BookingEvent::Rejected(rejected)] = then.as_slice() else {
        panic!("{then:?}");
    };
    assert_eq!(rejected.reason, RejectionReason::NoTableAvailable);
    assert_eq!(
        rejected.table_ids,
        [table("a1")],
        "what it was given is released"
    );
}

#[tokio::test]
async fn given_a_party_that_lost_its_places_as_often_as_allowed_when_another_is_taken_then_it_is_rejected_as_slot_taken()
 {
    let id = BookingId::new();
    let mut scenario = Scenario::new().given(
        &id,
        [
            by_size(id, &["a1"]),
            reassigned(id, "a2"),
            reassigned(id, "a3"),
        ],
    );
    let failure = scenario.when(&table("a3"), refused("a3", id));
    saga(&scenario, place(&["a4"]))
        .react(&failure)
        .await
        .expect("step");
    let then = scenario.then::<BookingEvent>();
    let [BookingEvent::Rejected(rejected)] = then.as_slice() else {
        panic!("{then:?}");
    };
    assert_eq!(rejected.reason, RejectionReason::SlotTaken);
    assert_eq!(
        rejected.table_ids,
        [table("a1"), table("a2"), table("a3")],
        "every table it was given may hold a late lock"
    );
}

#[tokio::test]
async fn given_a_booking_of_a_table_asked_for_when_it_is_taken_then_it_is_rejected_without_looking_further()
 {
    let id = BookingId::new();
    let asked = request_for(&table("a1"), id, 2);
    let mut scenario = Scenario::new().given(&id, [asked.into()]);
    let failure = scenario.when(&table("a1"), refused("a1", id));
    saga(&scenario, place(&["a2"]))
        .react(&failure)
        .await
        .expect("step");
    let then = scenario.then::<BookingEvent>();
    let [BookingEvent::Rejected(rejected)] = then.as_slice() else {
        panic!("{then:?}");
    };
    assert_eq!(rejected.reason, RejectionReason::SlotTaken);
}

#[tokio::test]
async fn given_a_place_among_tables_it_lost_when_the_seating_offers_it_then_the_booking_is_rejected_rather_than_sent_back()
 {
    let id = BookingId::new();
    let mut scenario = Scenario::new().given(&id, [by_size(id, &["a1"]), reassigned(id, "a2")]);
    let failure = scenario.when(&table("a2"), refused("a2", id));
    saga(&scenario, place(&["a1"]))
        .react(&failure)
        .await
        .expect("step");
    let then = scenario.then::<BookingEvent>();
    assert!(
        matches!(then.as_slice(), [BookingEvent::Rejected(r)] if r.reason == RejectionReason::SlotTaken),
        "{then:?}"
    );
}
