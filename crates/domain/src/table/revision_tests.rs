//! Given/when/then tests of a table's decisions for a booking that moves: per slot and per
//! revision (ADR 0028, 0029).

use super::tests::{early, given, people, place};
use super::*;
use events::fixtures::{added, dinner, lock_removed_in, lunch, placed_in, t1};

#[test]
fn given_a_booking_holding_lunch_when_it_asks_for_dinner_too_then_both_are_held_and_released_apart()
{
    // What a change of slot does: the new lock first, then the old one released.
    let booking = BookingId::new();
    let table = Table::replay(&[added(4), placed_in(lunch(), booking)]);
    let events = table
        .decide(&place(dinner(), booking, people(2)))
        .expect("decided");
    assert_eq!(events, vec![placed_in(dinner(), booking)]);
    let table = events.iter().fold(table, |t, e| t.evolve(e));
    assert_eq!(table.locks().count(), 2);
    let released = lock_removed_in(lunch(), booking, LockRemovalCause::BookingCancelled);
    let removal = TableCommand::RemoveLock {
        id: t1(),
        booking_id: booking,
        revision: 0,
        time_slot: lunch(),
        cause: LockRemovalCause::BookingCancelled,
        now: early(),
    };
    assert_eq!(table.decide(&removal), Ok(vec![released.clone()]));
    let table = table.evolve(&released);
    assert_eq!(
        table.lock_in(booking, &dinner()).map(|l| l.time_slot),
        Some(dinner())
    );
    assert_eq!(table.lock_in(booking, &lunch()), None);
    // Redelivered, neither request changes anything.
    assert_eq!(
        table.decide(&place(dinner(), booking, people(2))),
        Ok(vec![])
    );
    assert_eq!(
        table.decide(&place(lunch(), booking, people(2))),
        Ok(vec![])
    );
}

#[test]
fn given_a_booking_that_moved_away_from_dinner_when_a_change_brings_it_back_then_the_table_decides_afresh()
 {
    // Revision 0 held dinner; a change moved it to lunch and released dinner; the next
    // change (revision 2) asks for dinner again.
    let booking = BookingId::new();
    let table = given(&[
        added(4),
        placed_in(dinner(), booking),
        placed_in(lunch(), booking),
        lock_removed_in(dinner(), booking, LockRemovalCause::BookingChanged),
    ]);
    assert_eq!(
        table.decide(&place(dinner(), booking, people(2))),
        Ok(vec![]),
        "revision 0 was decided"
    );
    let again = TableCommand::PlaceLock {
        id: t1(),
        time_slot: dinner(),
        booking_id: booking,
        revision: 2,
        people: people(2),
        now: early(),
    };
    let placed = TableLockPlaced {
        id: t1(),
        time_slot: dinner(),
        booking_id: booking,
        revision: 2,
    };
    assert_eq!(table.decide(&again), Ok(vec![placed.clone().into()]));
    let table = table.evolve(&placed.into());
    assert_eq!(table.decide(&again), Ok(vec![]), "decided once");
}

#[test]
fn given_a_change_released_before_its_lock_request_when_the_request_comes_then_nothing_is_placed() {
    // A change rolled back (timed out) before table-manager saw its request.
    let booking = BookingId::new();
    let table = given(&[added(4)]);
    let release = TableCommand::RemoveLock {
        id: t1(),
        booking_id: booking,
        time_slot: dinner(),
        revision: 1,
        cause: LockRemovalCause::ChangeRejected,
        now: early(),
    };
    let events = table.decide(&release).expect("decided");
    assert_eq!(events.len(), 1, "the release is recorded");
    let table = events.iter().fold(table, |t, e| t.evolve(e));
    let late = TableCommand::PlaceLock {
        id: t1(),
        time_slot: dinner(),
        booking_id: booking,
        revision: 1,
        people: None,
        now: early(),
    };
    assert_eq!(table.decide(&late), Ok(vec![]));
    assert_eq!(table.lock_of(booking), None);
}
