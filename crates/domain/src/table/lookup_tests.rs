//! Given/when/then tests of how a table finds its locks: by slot start, never by a pass
//! over all of them.

use super::tests::place;
use super::*;
use events::fixtures::{added, dinner, lock_removed_in, lunch, placed_in, ts};

/// A slot of `minutes` starting `start` minutes after 2026-12-24 10:00Z.
fn slot_at(start: i64, minutes: i64) -> TimeSlot {
    let base = ts("2026-12-24T10:00:00Z");
    let from = base + jiff::SignedDuration::from_mins(start);
    TimeSlot::new(from, from + jiff::SignedDuration::from_mins(minutes)).expect("slot")
}

#[test]
fn given_locks_of_many_lengths_when_a_slot_is_asked_for_then_it_is_taken_exactly_when_one_overlaps_it()
 {
    // Back to back and with gaps, of different lengths: never overlapping one another.
    let held = [(0, 90), (90, 30), (150, 150), (330, 15), (400, 240)];
    let table = held.iter().fold(
        Table::default().evolve(&added(4)),
        |table, &(start, minutes)| {
            table.evolve(&placed_in(slot_at(start, minutes), BookingId::new()))
        },
    );
    for start in (-60..700).step_by(15) {
        for minutes in [15, 30, 90, 150, 300] {
            let asked = slot_at(start, minutes);
            let overlaps = held.iter().any(|&(s, m)| slot_at(s, m).overlaps(&asked));
            let decided = table
                .decide(&place(asked, BookingId::new(), None))
                .expect("decided");
            let taken = matches!(
                decided.as_slice(),
                [TableEvent::LockPlacementFailed(f)] if f.reason == LockFailureReason::SlotTaken
            );
            assert_eq!(taken, overlaps, "{asked:?}");
        }
    }
}

#[test]
fn given_a_lock_when_it_is_released_then_only_it_goes_and_it_is_found_no_more() {
    let (first, second) = (BookingId::new(), BookingId::new());
    let table = Table::default()
        .evolve(&added(4))
        .evolve(&placed_in(dinner(), first))
        .evolve(&placed_in(lunch(), second));
    assert!(table.lock_in(first, &dinner()).is_some());
    assert!(
        table.lock_in(first, &lunch()).is_none(),
        "another booking's"
    );
    let table = table.evolve(&lock_removed_in(
        lunch(),
        first,
        LockRemovalCause::BookingCancelled,
    ));
    assert_eq!(
        table.locks().count(),
        2,
        "not the booking's lock: nothing goes"
    );
    let table = table.evolve(&lock_removed_in(
        dinner(),
        first,
        LockRemovalCause::BookingCancelled,
    ));
    assert!(table.lock_in(first, &dinner()).is_none());
    assert!(table.lock_in(second, &lunch()).is_some());
}
