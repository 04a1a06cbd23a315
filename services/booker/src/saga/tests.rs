//! Given/when/then tests of the booking saga's steps and the timeouts.

use domain::Aggregate as _;
use events::fixtures::*;
use events::{BookingStatus, DomainEvent as _, LockFailureReason, TableBookingInitiated};
use eventstore::InMemory;
use eventstore::testing::Scenario;

use super::*;

pub(super) const TIMEOUT: Duration = Duration::from_secs(30);

pub(super) fn bookings(scenario: &Scenario) -> Arc<Repository<Booking, InMemory>> {
    Arc::new(Repository::new(scenario.log(), 100, 4))
}

/// A seating that always answers the same.
#[derive(Debug)]
pub(super) struct Fixed(pub NextPlace);

impl Seating for Fixed {
    async fn next_place(
        &self,
        _booking: BookingId,
        _slot: TimeSlot,
        _people: PartySize,
        _excluded: &BTreeSet<TableId>,
    ) -> anyhow::Result<NextPlace> {
        Ok(self.0.clone())
    }
}

pub(super) fn saga(scenario: &Scenario) -> BookingSaga<Fixed, InMemory> {
    BookingSaga {
        bookings: bookings(scenario),
        seating: Fixed(NextPlace::Nothing),
    }
}

pub(super) fn timeouts(scenario: &Scenario) -> Timeouts<InMemory> {
    Timeouts {
        bookings: bookings(scenario),
        timeout: TIMEOUT,
    }
}

#[tokio::test]
async fn given_an_initiated_booking_when_its_lock_is_placed_then_it_is_confirmed() {
    let id = BookingId::new();
    let mut scenario = Scenario::new().given(&id, [initiated(id, 2)]);
    let lock = scenario.when(&t1(), placed(id));
    saga(&scenario).react(&lock).await.expect("step");
    let then = scenario.then_recorded::<BookingEvent>();
    assert_eq!(then.len(), 1);
    assert_eq!(then[0].event, confirmed(id));
    assert_eq!(then[0].subject, format!("bookings.{id}"));
    assert_eq!(then[0].metadata.causation_id, lock.metadata.event_id.into());
    assert_eq!(
        then[0].metadata.correlation_id,
        lock.metadata.correlation_id
    );
}

#[tokio::test]
async fn given_a_confirmed_booking_when_the_lock_is_redelivered_then_nothing_is_appended() {
    let id = BookingId::new();
    let mut scenario = Scenario::new().given(&id, [initiated(id, 2)]);
    let lock = scenario.when(&t1(), placed(id));
    saga(&scenario).react(&lock).await.expect("first delivery");
    scenario.mark();
    saga(&scenario).react(&lock).await.expect("redelivery");
    assert_eq!(scenario.then::<BookingEvent>(), vec![]);
}

#[tokio::test]
async fn given_an_initiated_booking_when_the_lock_fails_then_it_is_rejected_with_that_reason() {
    for (failure, reason) in [
        (LockFailureReason::SlotTaken, RejectionReason::SlotTaken),
        (LockFailureReason::TooSmall, RejectionReason::TooSmall),
        (
            LockFailureReason::TableRemoved,
            RejectionReason::TableRemoved,
        ),
        (
            LockFailureReason::TableNotFound,
            RejectionReason::TableNotFound,
        ),
    ] {
        let id = BookingId::new();
        let mut scenario = Scenario::new().given(&id, [initiated(id, 2)]);
        let failure = scenario.when(&t1(), failed(&t1(), id, failure));
        saga(&scenario).react(&failure).await.expect("step");
        assert_eq!(scenario.then::<BookingEvent>(), vec![rejected(id, reason)]);
    }
}

#[tokio::test]
async fn given_a_timed_out_booking_when_a_late_lock_arrives_then_nothing_is_appended() {
    let id = BookingId::new();
    let mut scenario = Scenario::new().given(
        &id,
        [initiated(id, 2), rejected(id, RejectionReason::Timeout)],
    );
    let lock = scenario.when(&t1(), placed(id));
    saga(&scenario).react(&lock).await.expect("step settles");
    assert_eq!(scenario.then::<BookingEvent>(), vec![]);
}

#[tokio::test]
async fn given_a_cancelled_booking_when_its_lock_arrives_then_nothing_is_appended() {
    let id = BookingId::new();
    let mut scenario = Scenario::new().given(&id, [initiated(id, 2), confirmed(id), cancelled(id)]);
    let lock = scenario.when(&t1(), placed(id));
    saga(&scenario).react(&lock).await.expect("step settles");
    assert_eq!(scenario.then::<BookingEvent>(), vec![]);
}

#[tokio::test]
async fn given_a_booking_a_follower_has_not_seen_yet_when_its_lock_is_placed_then_it_is_confirmed()
{
    let id = BookingId::new();
    let mut scenario = Scenario::new().given(&id, [initiated(id, 2)]);
    let lock = scenario.when(&t1(), placed(id));
    // Plain loads come from a replica that has not applied `table-booking-initiated`.
    scenario.log().set_follower_lag(1);
    saga(&scenario).react(&lock).await.expect("step");
    assert_eq!(scenario.then::<BookingEvent>(), vec![confirmed(id)]);
}

#[tokio::test]
async fn given_no_booking_when_a_lock_names_it_then_the_message_is_poison() {
    let id = BookingId::new();
    let mut scenario = Scenario::new();
    let lock = scenario.when(&t1(), placed(id));
    let outcome = saga(&scenario).react(&lock).await;
    assert!(
        matches!(outcome, Err(HandleError::Poison(_))),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn given_the_store_unavailable_when_a_lock_arrives_then_the_step_is_retried() {
    let id = BookingId::new();
    let mut scenario = Scenario::new().given(&id, [initiated(id, 2)]);
    let lock = scenario.when(&t1(), placed(id));
    scenario.log().set_unavailable(true);
    let outcome = saga(&scenario).react(&lock).await;
    assert!(matches!(outcome, Err(HandleError::Retry(_))), "{outcome:?}");
}

#[tokio::test]
async fn given_a_booking_made_ten_seconds_ago_when_its_timer_fires_then_it_waits_twenty_more() {
    let id = BookingId::new();
    let mut scenario = Scenario::new();
    let made = scenario.when(&id, initiated(id, 2));
    let stored = made.metadata.occurred_at;
    let now = stored + Duration::from_secs(10);
    let outcome = timeouts(&scenario).react(&made, stored, now).await;
    let Err(HandleError::Defer(delay)) = outcome else {
        panic!("expected a deferral, got {outcome:?}");
    };
    assert!(
        (Duration::from_secs(20)..Duration::from_secs(21)).contains(&delay),
        "{delay:?}"
    );
    assert_eq!(scenario.then::<BookingEvent>(), vec![]);
}

#[tokio::test]
async fn given_a_booking_written_by_a_replica_whose_clock_is_behind_when_its_timer_fires_then_the_timeout_counts_from_when_it_was_stored()
 {
    let id = BookingId::new();
    let mut scenario = Scenario::new();
    let made = scenario.when(&id, initiated(id, 2));
    // The writing replica's clock was ten minutes behind the server's.
    let stored = made.metadata.occurred_at + Duration::from_secs(600);
    let now = stored + Duration::from_secs(10);
    let outcome = timeouts(&scenario).react(&made, stored, now).await;
    assert!(
        matches!(outcome, Err(HandleError::Defer(_))),
        "rejected early: {outcome:?}"
    );
    assert_eq!(scenario.then::<BookingEvent>(), vec![]);
}

#[tokio::test]
async fn given_a_booking_still_initiated_when_the_timeout_passes_then_it_is_rejected_with_timeout()
{
    let id = BookingId::new();
    let mut scenario = Scenario::new();
    let made = scenario.when(&id, initiated(id, 2));
    let stored = made.metadata.occurred_at;
    timeouts(&scenario)
        .react(&made, stored, stored + TIMEOUT)
        .await
        .expect("step");
    assert_eq!(
        scenario.then::<BookingEvent>(),
        vec![rejected(id, RejectionReason::Timeout)]
    );
    let state = Booking::replay(
        scenario
            .log()
            .recorded_after::<BookingEvent>(0)
            .iter()
            .map(|r| &r.event),
    );
    assert_eq!(state.status, Some(BookingStatus::Rejected));
}

#[tokio::test]
async fn given_a_confirmed_booking_when_the_timeout_passes_then_nothing_is_appended() {
    let id = BookingId::new();
    let mut scenario = Scenario::new();
    let made = scenario.when(&id, initiated(id, 2));
    scenario = scenario.given(&id, [confirmed(id)]);
    scenario.mark();
    let stored = made.metadata.occurred_at;
    timeouts(&scenario)
        .react(&made, stored, stored + TIMEOUT * 2)
        .await
        .expect("step settles");
    assert_eq!(scenario.then::<BookingEvent>(), vec![]);
}

#[tokio::test]
async fn given_a_booking_of_an_unknown_table_left_initiated_when_the_timeouts_see_it_then_it_is_rejected_at_once()
 {
    // The request that made it died before rejecting it.
    let id = BookingId::new();
    let mut scenario = Scenario::new();
    let made = scenario.when(&id, unknown_table(id));
    let stored = made.metadata.occurred_at;
    timeouts(&scenario)
        .react(&made, stored, stored)
        .await
        .expect("step");
    let then = scenario.then_recorded::<BookingEvent>();
    assert_eq!(then.len(), 1);
    assert_eq!(then[0].event, rejected(id, RejectionReason::TableNotFound));
    assert_eq!(then[0].metadata.causation_id, made.metadata.event_id.into());
}

#[tokio::test]
async fn given_a_booking_of_an_unknown_table_its_request_rejected_when_the_timeouts_see_it_then_nothing_is_appended()
 {
    let id = BookingId::new();
    let mut scenario = Scenario::new();
    let made = scenario.when(&id, unknown_table(id));
    let bookings = bookings(&scenario);
    refuse_at_edge(
        &bookings,
        id,
        made.metadata.event_id,
        RejectionReason::TableNotFound,
    )
    .await
    .expect("refused by the request");
    scenario.mark();
    let stored = made.metadata.occurred_at;
    let outcome = timeouts(&scenario).react(&made, stored, stored).await;
    assert!(outcome.is_ok(), "no timer kept: {outcome:?}");
    assert_eq!(scenario.then::<BookingEvent>(), vec![]);
}

fn unknown_table(id: BookingId) -> BookingEvent {
    TableBookingInitiated {
        unknown_table: true,
        ..request_for(&t1(), id, 2)
    }
    .into()
}

#[test]
fn the_timeouts_ignore_every_booking_event_but_a_request_and_a_change_request() {
    let mut starting: Vec<&str> = BookingEvent::type_names()
        .iter()
        .copied()
        .filter(|kind| !TIMELESS.contains(kind))
        .collect();
    starting.sort_unstable();
    assert_eq!(
        starting,
        ["table-booking-change-requested", "table-booking-initiated"],
        "a new booking event type: say whether it starts a timer"
    );
}

#[tokio::test]
async fn given_an_event_the_timeouts_ignore_when_it_is_handled_anyway_then_nothing_is_deferred_or_written()
 {
    let id = BookingId::new();
    let mut scenario = Scenario::new().given(&id, [initiated(id, 2)]);
    for event in [
        confirmed(id),
        rejected(id, RejectionReason::Timeout),
        cancelled(id),
    ] {
        assert!(TIMELESS.contains(&event.event_type()), "{event:?}");
        let recorded = scenario.when(&id, event);
        scenario.mark();
        let stored = recorded.metadata.occurred_at;
        let outcome = timeouts(&scenario).react(&recorded, stored, stored).await;
        assert!(outcome.is_ok(), "{outcome:?}");
        assert_eq!(scenario.then::<BookingEvent>(), vec![]);
    }
}

#[tokio::test]
async fn given_a_booking_just_made_when_its_timer_first_fires_then_it_is_looked_at_again_a_second_after_it_was_made()
 {
    let id = BookingId::new();
    let mut scenario = Scenario::new();
    let made = scenario.when(&id, initiated(id, 2));
    let stored = made.metadata.occurred_at;
    let now = stored + Duration::from_millis(100);
    let outcome = timeouts(&scenario).react(&made, stored, now).await;
    let Err(HandleError::Defer(delay)) = outcome else {
        panic!("expected a deferral, got {outcome:?}");
    };
    assert!(
        (Duration::from_millis(900)..Duration::from_millis(910)).contains(&delay),
        "{delay:?}"
    );
    assert_eq!(scenario.then::<BookingEvent>(), vec![]);
}

#[tokio::test]
async fn given_a_booking_this_booker_saw_confirmed_when_its_timer_fires_then_it_is_let_go_without_a_read()
 {
    let id = BookingId::new();
    let mut scenario = Scenario::new().given(&id, [initiated(id, 2)]);
    let made = scenario.when(&id, confirmed(id));
    let timeouts = timeouts(&scenario);
    // Known to this booker (its saga confirmed it through the same repository).
    timeouts.bookings.load(&id).await.expect("cached");
    scenario.mark();
    // The store is out of reach: only the cache can answer.
    scenario.log().set_unavailable(true);
    let stored = made.metadata.occurred_at;
    for now in [stored, stored + Duration::from_secs(5), stored + TIMEOUT] {
        let outcome = timeouts
            .react(&initiated_recorded(&made, id), stored, now)
            .await;
        assert!(outcome.is_ok(), "at {now}: {outcome:?}");
    }
    assert_eq!(scenario.then::<BookingEvent>(), vec![]);
}

/// The request of booking `id` as the timeouts consumer receives it, with `like`'s metadata.
fn initiated_recorded(like: &Recorded<BookingEvent>, id: BookingId) -> Recorded<BookingEvent> {
    Recorded {
        event: initiated(id, 2),
        ..like.clone()
    }
}
