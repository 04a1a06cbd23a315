//! Given/when/then tests of the locking saga's steps for a change of a booking (ADR 0029):
//! the new tables locked before the old are released, with each point where a crash can
//! stop a step.

use events::fixtures::{change_requested, dinner, lunch, place_at};
use events::{
    BookingPlace, ChangeRejectionReason, LockFailureReason, LockRemovalCause, Revision,
    TableBookingChangeRejected, TableBookingChanged, TableEvent, TableLockPlaced,
    TableLockPlacementFailed, TableLockRemoved,
};
use eventstore::testing::Scenario;

use super::tests::{saga, table};
use super::*;

/// A lock decision of `booking` at `revision` on `raw` in `slot`.
struct Lock<'a> {
    raw: &'a str,
    slot: TimeSlot,
    booking: BookingId,
    revision: Revision,
}

impl Lock<'_> {
    fn placed(&self) -> TableEvent {
        TableLockPlaced {
            id: table(self.raw),
            time_slot: self.slot,
            booking_id: self.booking,
            revision: self.revision,
        }
        .into()
    }

    fn failed(&self, reason: LockFailureReason) -> TableEvent {
        TableLockPlacementFailed {
            id: table(self.raw),
            time_slot: self.slot,
            booking_id: self.booking,
            revision: self.revision,
            reason,
        }
        .into()
    }

    fn removed(&self, cause: LockRemovalCause) -> TableEvent {
        TableLockRemoved {
            id: table(self.raw),
            time_slot: self.slot,
            booking_id: self.booking,
            revision: self.revision,
            cause,
        }
        .into()
    }
}

/// Tables a1 to a4 of four seats each; `booking` holds a1 at dinner (revision 0).
fn booked(booking: BookingId) -> Scenario {
    ["a1", "a2", "a3", "a4"]
        .iter()
        .fold(Scenario::new(), |scenario, raw| {
            let added = events::TableAdded {
                id: table(raw),
                seats: events::Seats::new(4).expect("seats"),
            };
            scenario.given(&table(raw), [added.into()])
        })
        .given(&table("a1"), [at(&"a1", dinner(), booking, 0).placed()])
}

fn at(raw: &&'static str, slot: TimeSlot, booking: BookingId, revision: Revision) -> Lock<'static> {
    Lock {
        raw,
        slot,
        booking,
        revision,
    }
}

fn from() -> BookingPlace {
    place_at(dinner(), &["a1"], 4)
}

#[tokio::test]
async fn given_a_change_to_lunch_when_it_is_requested_then_the_new_table_is_locked_and_the_old_kept()
 {
    let booking = BookingId::new();
    let mut scenario = booked(booking);
    let to = place_at(lunch(), &["a1"], 4);
    let requested = scenario.when(&booking, change_requested(booking, 1, from(), to).into());
    saga(&scenario).react(&requested).await.expect("step");
    assert_eq!(
        scenario.then::<TableEvent>(),
        vec![at(&"a1", lunch(), booking, 1).placed()],
        "the same table in another slot: locked again, dinner still held"
    );
}

#[tokio::test]
async fn given_a_change_to_a_larger_combination_in_the_same_slot_then_only_the_new_table_is_locked()
{
    let booking = BookingId::new();
    let mut scenario = booked(booking);
    let to = place_at(dinner(), &["a1", "a2"], 7);
    let requested = scenario.when(&booking, change_requested(booking, 1, from(), to).into());
    saga(&scenario).react(&requested).await.expect("step");
    assert_eq!(
        scenario.then::<TableEvent>(),
        vec![at(&"a2", dinner(), booking, 1).placed()]
    );
}

#[tokio::test]
async fn given_a_new_table_taken_when_a_change_is_requested_then_what_it_placed_is_freed_and_the_kept_table_stays()
 {
    let (other, booking) = (BookingId::new(), BookingId::new());
    let mut scenario =
        booked(booking).given(&table("a3"), [at(&"a3", dinner(), other, 0).placed()]);
    let to = place_at(dinner(), &["a1", "a2", "a3"], 10);
    let requested = scenario.when(&booking, change_requested(booking, 1, from(), to).into());
    saga(&scenario).react(&requested).await.expect("step");
    let rolled_back = LockRemovalCause::ChangeRejected;
    assert_eq!(
        scenario.then::<TableEvent>(),
        vec![
            at(&"a2", dinner(), booking, 1).placed(),
            at(&"a3", dinner(), booking, 1).failed(LockFailureReason::SlotTaken),
            at(&"a2", dinner(), booking, 1).removed(rolled_back),
        ],
        "a1, held before the change, is never released by it"
    );
    scenario.mark();
    saga(&scenario).react(&requested).await.expect("redelivery");
    assert_eq!(scenario.then::<TableEvent>(), vec![]);
}

#[tokio::test]
async fn given_a_crash_after_a_new_lock_when_the_change_is_redelivered_then_the_rest_is_locked_once()
 {
    let booking = BookingId::new();
    let to = place_at(lunch(), &["a2", "a3"], 7);
    // The first delivery locked a2 at lunch, then its replica died.
    let mut scenario =
        booked(booking).given(&table("a2"), [at(&"a2", lunch(), booking, 1).placed()]);
    let requested = scenario.when(&booking, change_requested(booking, 1, from(), to).into());
    saga(&scenario).react(&requested).await.expect("redelivery");
    assert_eq!(
        scenario.then::<TableEvent>(),
        vec![at(&"a3", lunch(), booking, 1).placed()]
    );
}

#[tokio::test]
async fn given_a_change_done_when_it_is_seen_then_the_old_tables_not_kept_are_released_once() {
    let booking = BookingId::new();
    let to = place_at(dinner(), &["a2"], 4);
    let mut scenario =
        booked(booking).given(&table("a2"), [at(&"a2", dinner(), booking, 1).placed()]);
    let changed = TableBookingChanged {
        id: booking,
        revision: 1,
        from: from(),
        to,
    };
    let changed = scenario.when(&booking, changed.into());
    saga(&scenario).react(&changed).await.expect("step");
    assert_eq!(
        scenario.then::<TableEvent>(),
        vec![at(&"a1", dinner(), booking, 1).removed(LockRemovalCause::BookingChanged)]
    );
    // A crash before the ack: the redelivery releases nothing more.
    scenario.mark();
    saga(&scenario).react(&changed).await.expect("redelivery");
    assert_eq!(scenario.then::<TableEvent>(), vec![]);
}

#[tokio::test]
async fn given_a_change_rolled_back_before_its_request_was_seen_then_its_tables_are_barred_and_never_locked()
 {
    let booking = BookingId::new();
    let to = place_at(lunch(), &["a2"], 4);
    let mut scenario = booked(booking);
    let rejected = TableBookingChangeRejected {
        id: booking,
        revision: 1,
        reason: ChangeRejectionReason::Timeout,
        from: from(),
        to: to.clone(),
    };
    // The rollback is handled first (another replica, a redelivery of the request later).
    let rejected = scenario.when(&booking, rejected.into());
    saga(&scenario).react(&rejected).await.expect("rollback");
    assert_eq!(
        scenario.then::<TableEvent>(),
        vec![at(&"a2", lunch(), booking, 1).removed(LockRemovalCause::ChangeRejected)],
        "barred, and dinner stays held"
    );
    let requested = scenario.when(&booking, change_requested(booking, 1, from(), to).into());
    saga(&scenario)
        .react(&requested)
        .await
        .expect("late request");
    assert_eq!(
        scenario.then::<TableEvent>(),
        vec![],
        "the late request places nothing"
    );
}

#[tokio::test]
async fn given_a_refused_change_when_the_same_change_is_asked_again_later_then_it_is_decided_afresh()
 {
    let (other, booking) = (BookingId::new(), BookingId::new());
    let to = place_at(lunch(), &["a2"], 4);
    // Revision 1 was refused (a2 taken at lunch); the other booking has left since.
    let mut scenario = booked(booking).given(
        &table("a2"),
        [
            at(&"a2", lunch(), other, 0).placed(),
            at(&"a2", lunch(), booking, 1).failed(LockFailureReason::SlotTaken),
            at(&"a2", lunch(), other, 0).removed(LockRemovalCause::BookingCancelled),
        ],
    );
    let again = scenario.when(&booking, change_requested(booking, 2, from(), to).into());
    saga(&scenario).react(&again).await.expect("step");
    assert_eq!(
        scenario.then::<TableEvent>(),
        vec![at(&"a2", lunch(), booking, 2).placed()]
    );
}
