//! Given/when/then tests of changing a booking, over the in-memory event log, without
//! HTTP.

use std::time::Duration;

use domain::SlotSchedule;
use events::BookingEvent;
use events::fixtures::*;
use eventstore::InMemory;
use eventstore::testing::Scenario;

use super::*;
use crate::use_cases::testing::{Shown, table};

/// The morning of the fixtures' day: lunch and dinner are ahead.
fn morning() -> Timestamp {
    ts("2026-12-24T08:00:00Z")
}

/// The parts of a booker over the scenario's log, with the floor `shown`.
struct Booker {
    bookings: Repository<Booking, InMemory>,
    floors: Shown,
    claims: Claims,
    outcomes: Arc<Outcomes>,
    rules: SlotRules,
}

impl Booker {
    fn over(scenario: &Scenario, floors: Shown) -> Self {
        Self {
            bookings: Repository::new(scenario.log(), 100, 4),
            floors,
            claims: Claims::new(Duration::from_secs(40)),
            outcomes: Arc::default(),
            rules: SlotRules {
                schedule: SlotSchedule::parse("12:00-14:00,19:00-21:00").expect("slots"),
                zone: jiff::tz::TimeZone::get("Europe/Paris").expect("zone"),
                horizon_days: 90,
            },
        }
    }

    /// Changes `id` as asked at `now`, without waiting: the outcome is the consumers'.
    async fn change(
        &self,
        id: BookingId,
        asked: ChangeRequest,
        now: Timestamp,
    ) -> Result<Changed, ChangeError> {
        let (booking, _) = self.bookings.load(&id).await.expect("loaded");
        let change = Change {
            bookings: &self.bookings,
            floors: &self.floors,
            claims: &self.claims,
            outcomes: &self.outcomes,
            rules: &self.rules,
        };
        change
            .change(id, booking, &asked, now, Duration::ZERO)
            .await
    }
}

fn to_lunch() -> ChangeRequest {
    ChangeRequest {
        time_slot: Some(lunch()),
        people: None,
        table_id: None,
    }
}

/// A booking of t1 at dinner for two, confirmed; "then" starts after it.
fn confirmed_booking(id: BookingId) -> Scenario {
    let mut scenario = Scenario::new().given(&id, [initiated(id, 2), confirmed(id)]);
    scenario.mark();
    scenario
}

fn floor(tables: Vec<(&'static str, u8)>, locks: Vec<(&'static str, TimeSlot)>) -> Shown {
    Shown { tables, locks }
}

#[tokio::test]
async fn given_a_confirmed_booking_when_it_is_moved_to_a_free_slot_then_the_change_is_requested_on_its_table()
 {
    let id = BookingId::new();
    let scenario = confirmed_booking(id);
    let booker = Booker::over(&scenario, floor(vec![("t1", 4)], vec![("t1", dinner())]));
    let changed = booker
        .change(id, to_lunch(), morning())
        .await
        .expect("changed");
    assert!(matches!(changed, Changed::Pending(_)), "{changed:?}");
    let recorded = scenario.then::<BookingEvent>();
    let [BookingEvent::ChangeRequested(requested)] = recorded.as_slice() else {
        panic!("recorded: {recorded:?}");
    };
    assert_eq!(requested.to.time_slot, lunch());
    assert_eq!(
        requested.to.table_ids,
        vec![t1()],
        "its own table, free at lunch"
    );
    assert_eq!(requested.from.time_slot, dinner());
}

#[tokio::test]
async fn given_a_table_held_at_the_new_slot_when_the_booking_is_moved_to_it_then_it_is_refused_with_alternatives_and_nothing_is_written()
 {
    let id = BookingId::new();
    let scenario = confirmed_booking(id);
    let held = floor(
        vec![("t1", 4), ("t2", 4)],
        vec![("t1", dinner()), ("t2", lunch())],
    );
    let booker = Booker::over(&scenario, held);
    let asked = ChangeRequest {
        table_id: Some(table("t2")),
        ..to_lunch()
    };
    let changed = booker.change(id, asked, morning()).await.expect("answered");
    let Changed::Refused {
        booking,
        reason,
        alternatives,
    } = changed
    else {
        panic!("not refused: {changed:?}");
    };
    assert_eq!(reason, Refusal::Place(RejectionReason::SlotTaken));
    assert!(alternatives.is_some(), "a refusal for want of a place");
    assert_eq!(booking.time_slot, Some(dinner()), "unchanged");
    assert_eq!(scenario.then::<BookingEvent>(), vec![]);
}

#[tokio::test]
async fn given_a_larger_party_when_the_restaurant_picks_then_it_is_given_a_table_that_seats_it_and_the_claim_stands()
 {
    let id = BookingId::new();
    let scenario = confirmed_booking(id);
    let booker = Booker::over(
        &scenario,
        floor(vec![("t1", 2), ("t2", 6)], vec![("t1", dinner())]),
    );
    let asked = ChangeRequest {
        time_slot: None,
        people: Some(people(6)),
        table_id: None,
    };
    let changed = booker.change(id, asked, morning()).await.expect("changed");
    assert!(matches!(changed, Changed::Pending(_)), "{changed:?}");
    let recorded = scenario.then::<BookingEvent>();
    let [BookingEvent::ChangeRequested(requested)] = recorded.as_slice() else {
        panic!("recorded: {recorded:?}");
    };
    assert_eq!(requested.to.table_ids, vec![table("t2")]);
    assert!(requested.assigned);
    assert_eq!(
        booker.claims.len(),
        1,
        "claimed until the change is decided"
    );
}

#[tokio::test]
async fn given_a_cancelled_or_started_booking_when_it_is_changed_then_the_booking_refuses_and_nothing_is_written()
 {
    let id = BookingId::new();
    let mut scenario = Scenario::new().given(&id, [initiated(id, 2), confirmed(id), cancelled(id)]);
    scenario.mark();
    let booker = Booker::over(&scenario, floor(vec![("t1", 4)], Vec::new()));
    let refused = booker.change(id, to_lunch(), morning()).await;
    assert!(
        matches!(
            refused,
            Err(ChangeError::Refused(BookingRejection::NotConfirmed(
                BookingStatus::Cancelled
            )))
        ),
        "{refused:?}"
    );
    let started = BookingId::new();
    let scenario = confirmed_booking(started);
    let booker = Booker::over(&scenario, floor(vec![("t1", 4)], Vec::new()));
    let during_dinner = ts("2026-12-24T18:30:00Z");
    let refused = booker.change(started, to_lunch(), during_dinner).await;
    assert!(
        matches!(
            refused,
            Err(ChangeError::Refused(BookingRejection::SlotStarted))
        ),
        "{refused:?}"
    );
    assert_eq!(scenario.then::<BookingEvent>(), vec![]);
}
