//! Given/when/then tests of the Table aggregate.

use super::*;
use events::fixtures::{
    added, dinner, failed, lock_removed, lock_removed_in, lunch, placed_in, t1, ts,
};

fn seats(n: u64) -> Seats {
    Seats::new(n).expect("seats")
}

pub(super) fn people(n: u64) -> Option<PartySize> {
    Some(PartySize::new(n).expect("people"))
}

/// A time before every fixture slot.
pub(super) fn early() -> Timestamp {
    ts("2026-12-01T00:00:00Z")
}

pub(super) fn place(slot: TimeSlot, booking: BookingId, party: Option<PartySize>) -> TableCommand {
    TableCommand::PlaceLock {
        id: t1(),
        time_slot: slot,
        booking_id: booking,
        revision: 0,
        people: party,
        now: early(),
    }
}

fn release(booking: BookingId, cause: LockRemovalCause) -> TableCommand {
    TableCommand::RemoveLock {
        id: t1(),
        booking_id: booking,
        revision: 0,
        time_slot: dinner(),
        cause,
        now: early(),
    }
}

pub(super) fn given(events: &[TableEvent]) -> Table {
    Table::replay(events)
}

#[allow(clippy::needless_pass_by_value)] // shaped for `Result::map`
fn failure(events: Vec<TableEvent>) -> Option<LockFailureReason> {
    match &events[..] {
        [TableEvent::LockPlacementFailed(f)] => Some(f.reason),
        _ => None,
    }
}

#[test]
fn given_no_table_when_staff_add_it_then_it_is_added_with_its_seats() {
    let events = given(&[]).decide(&TableCommand::Add {
        id: t1(),
        seats: seats(4),
    });
    assert_eq!(events, Ok(vec![added(4)]));
    assert_eq!(given(&[added(4)]).status, TableStatus::Active);
}

#[test]
fn given_a_table_when_staff_add_the_same_id_then_it_is_refused() {
    let result = given(&[added(4)]).decide(&TableCommand::Add {
        id: t1(),
        seats: seats(2),
    });
    assert_eq!(result, Err(TableRejection::AlreadyExists(t1())));
}

#[test]
fn given_a_removed_table_when_staff_add_its_id_again_then_it_is_refused() {
    let removed = given(&[added(4), TableRemoved { id: t1() }.into()]);
    let result = removed.decide(&TableCommand::Add {
        id: t1(),
        seats: seats(4),
    });
    assert_eq!(result, Err(TableRejection::AlreadyExists(t1())));
}

#[test]
fn given_a_free_table_when_staff_remove_it_then_it_is_removed() {
    let now = ts("2026-12-01T00:00:00Z");
    let result = given(&[added(4)]).decide(&TableCommand::Remove { id: t1(), now });
    assert_eq!(result, Ok(vec![TableRemoved { id: t1() }.into()]));
}

#[test]
fn given_no_table_or_a_removed_one_when_staff_remove_it_then_it_is_not_found() {
    let now = ts("2026-12-01T00:00:00Z");
    let remove = TableCommand::Remove { id: t1(), now };
    assert_eq!(
        given(&[]).decide(&remove),
        Err(TableRejection::NotFound(t1()))
    );
    let removed = given(&[added(4), TableRemoved { id: t1() }.into()]);
    assert_eq!(removed.decide(&remove), Err(TableRejection::NotFound(t1())));
}

#[test]
fn given_a_lock_for_a_coming_slot_when_staff_remove_the_table_then_it_is_refused() {
    let table = given(&[added(4), placed_in(dinner(), BookingId::new())]);
    let now = ts("2026-12-24T19:00:00Z");
    let result = table.decide(&TableCommand::Remove { id: t1(), now });
    assert_eq!(
        result,
        Err(TableRejection::Locked {
            id: t1(),
            slot: dinner()
        })
    );
}

#[test]
fn given_only_a_lock_for_an_ended_slot_when_staff_remove_the_table_then_it_is_removed() {
    let table = given(&[added(4), placed_in(lunch(), BookingId::new())]);
    let now = ts("2026-12-24T13:00:00Z");
    let result = table.decide(&TableCommand::Remove { id: t1(), now });
    assert_eq!(result, Ok(vec![TableRemoved { id: t1() }.into()]));
}

#[test]
fn given_a_free_table_when_a_booking_asks_for_a_slot_then_the_lock_is_placed() {
    let booking = BookingId::new();
    let result = given(&[added(4)]).decide(&place(dinner(), booking, people(4)));
    assert_eq!(result, Ok(vec![placed_in(dinner(), booking)]));
}

#[test]
fn given_no_table_when_a_booking_asks_for_it_then_placement_fails_with_table_not_found() {
    let result = given(&[]).decide(&place(dinner(), BookingId::new(), None));
    assert_eq!(
        result.map(failure),
        Ok(Some(LockFailureReason::TableNotFound))
    );
}

#[test]
fn given_a_removed_table_when_a_booking_asks_for_it_then_placement_fails_with_table_removed() {
    let table = given(&[added(4), TableRemoved { id: t1() }.into()]);
    let result = table.decide(&place(dinner(), BookingId::new(), None));
    assert_eq!(
        result.map(failure),
        Ok(Some(LockFailureReason::TableRemoved))
    );
}

#[test]
fn given_a_table_for_two_when_a_party_of_three_asks_then_placement_fails_with_too_small() {
    let result = given(&[added(2)]).decide(&place(dinner(), BookingId::new(), people(3)));
    assert_eq!(result.map(failure), Ok(Some(LockFailureReason::TooSmall)));
}

#[test]
fn given_a_booking_without_a_party_size_when_it_asks_then_any_table_fits() {
    let booking = BookingId::new();
    let result = given(&[added(1)]).decide(&place(dinner(), booking, None));
    assert_eq!(result, Ok(vec![placed_in(dinner(), booking)]));
}

#[test]
fn given_a_lock_on_a_slot_when_another_booking_asks_for_it_then_placement_fails_with_slot_taken() {
    let table = given(&[added(4), placed_in(dinner(), BookingId::new())]);
    let result = table.decide(&place(dinner(), BookingId::new(), people(2)));
    assert_eq!(result.map(failure), Ok(Some(LockFailureReason::SlotTaken)));
}

#[test]
fn given_a_lock_on_lunch_when_another_booking_asks_for_dinner_then_the_lock_is_placed() {
    let table = given(&[added(4), placed_in(lunch(), BookingId::new())]);
    let booking = BookingId::new();
    let result = table.decide(&place(dinner(), booking, None));
    assert_eq!(result, Ok(vec![placed_in(dinner(), booking)]));
}

#[test]
fn given_a_lock_when_the_same_booking_asks_again_then_nothing_changes() {
    let booking = BookingId::new();
    let table = given(&[added(4), placed_in(dinner(), booking)]);
    assert_eq!(table.decide(&place(dinner(), booking, None)), Ok(vec![]));
}

#[test]
fn given_a_failed_placement_when_the_same_booking_asks_again_after_the_slot_freed_then_nothing_changes()
 {
    let (first, second) = (BookingId::new(), BookingId::new());
    let failed: TableEvent = TableLockPlacementFailed {
        id: t1(),
        time_slot: dinner(),
        booking_id: second,
        revision: 0,
        reason: LockFailureReason::SlotTaken,
    }
    .into();
    let freed: TableEvent = TableLockRemoved {
        id: t1(),
        time_slot: dinner(),
        booking_id: first,
        revision: 0,
        cause: LockRemovalCause::BookingCancelled,
    }
    .into();
    let table = given(&[added(4), placed_in(dinner(), first), failed, freed]);
    assert_eq!(table.decide(&place(dinner(), second, None)), Ok(vec![]));
}

#[test]
fn given_a_removed_lock_when_its_booking_asks_again_then_it_is_not_placed_again() {
    let booking = BookingId::new();
    let removed: TableEvent = TableLockRemoved {
        id: t1(),
        time_slot: dinner(),
        booking_id: booking,
        revision: 0,
        cause: LockRemovalCause::BookingCancelled,
    }
    .into();
    let table = given(&[added(4), placed_in(dinner(), booking), removed]);
    assert_eq!(table.decide(&place(dinner(), booking, None)), Ok(vec![]));
    assert_eq!(table.locks().count(), 0);
}

#[test]
fn given_a_lock_when_it_is_removed_then_the_slot_is_free_for_another_booking() {
    let (first, second) = (BookingId::new(), BookingId::new());
    let table = given(&[added(4), placed_in(dinner(), first)]);
    let remove = release(first, LockRemovalCause::BookingCancelled);
    let events = table.decide(&remove).expect("decide");
    assert_eq!(events.len(), 1);
    let table = events.iter().fold(table, |t, e| t.evolve(e));
    assert_eq!(
        table.decide(&place(dinner(), second, None)),
        Ok(vec![placed_in(dinner(), second)])
    );
}

#[test]
fn given_no_lock_yet_when_the_booking_is_released_then_the_release_is_recorded_and_its_lock_is_never_placed()
 {
    let booking = BookingId::new();
    let table = given(&[added(4)]);
    let events = table
        .decide(&release(booking, LockRemovalCause::BookingCancelled))
        .expect("decide");
    assert_eq!(
        events,
        vec![lock_removed(booking, LockRemovalCause::BookingCancelled)]
    );
    let table = events.iter().fold(table, |t, e| t.evolve(e));
    assert_eq!(table.decide(&place(dinner(), booking, None)), Ok(vec![]));
    assert_eq!(table.locks().count(), 0);
    assert_eq!(
        table.decide(&release(booking, LockRemovalCause::BookingCancelled)),
        Ok(vec![]),
        "a redelivered release records nothing more"
    );
}

#[test]
fn given_a_timed_out_booking_released_first_when_its_lock_request_arrives_then_nothing_is_placed() {
    let booking = BookingId::new();
    let table = given(&[
        added(4),
        lock_removed(booking, LockRemovalCause::BookingRejected),
    ]);
    assert_eq!(
        table.decide(&place(dinner(), booking, people(2))),
        Ok(vec![])
    );
}

#[test]
fn given_a_failed_placement_when_the_booking_is_released_then_nothing_changes() {
    let booking = BookingId::new();
    let table = given(&[
        added(4),
        placed_in(dinner(), BookingId::new()),
        failed(&t1(), booking, LockFailureReason::SlotTaken),
    ]);
    let remove = release(booking, LockRemovalCause::BookingRejected);
    assert_eq!(table.decide(&remove), Ok(vec![]));
}

#[test]
fn given_no_lock_when_its_slot_ends_then_nothing_changes() {
    let table = given(&[added(4)]);
    let remove = release(BookingId::new(), LockRemovalCause::SlotEnded);
    assert_eq!(table.decide(&remove), Ok(vec![]));
}

#[test]
fn given_no_table_when_a_booking_is_released_then_nothing_is_recorded() {
    let remove = release(BookingId::new(), LockRemovalCause::BookingCancelled);
    assert_eq!(given(&[]).decide(&remove), Ok(vec![]));
}

#[test]
fn given_an_ended_slot_when_a_lock_is_asked_for_it_then_nothing_is_placed() {
    let command = TableCommand::PlaceLock {
        id: t1(),
        time_slot: lunch(),
        booking_id: BookingId::new(),
        revision: 0,
        people: None,
        now: lunch().to(),
    };
    assert_eq!(given(&[added(4)]).decide(&command), Ok(vec![]));
}

#[test]
fn given_many_decided_bookings_when_their_slots_have_ended_then_the_table_forgets_them() {
    let mut history = vec![added(4)];
    for _ in 0..100 {
        let booking = BookingId::new();
        history.push(placed_in(lunch(), booking));
        history.push(lock_removed_in(
            lunch(),
            booking,
            LockRemovalCause::SlotEnded,
        ));
    }
    let pending = BookingId::new();
    history.push(placed_in(dinner(), pending));
    let table = given(&history);
    assert_eq!(table.remembered(), 101);
    let table = table.prune(lunch().to());
    assert_eq!(
        table.remembered(),
        1,
        "only the dinner booking matters still"
    );
    assert_eq!(table.decide(&place(dinner(), pending, None)), Ok(vec![]));
    assert_eq!(table.lock_of(pending).map(|l| l.time_slot), Some(dinner()));
}

#[test]
fn given_a_table_with_locks_and_decisions_when_it_is_snapshotted_then_it_reads_back_the_same() {
    let (held, released) = (BookingId::new(), BookingId::new());
    let table = given(&[
        added(4),
        placed_in(dinner(), held),
        lock_removed_in(lunch(), released, LockRemovalCause::BookingCancelled),
    ]);
    let json = serde_json::to_string(&table).expect("serialize");
    let back: Table = serde_json::from_str(&json).expect("deserialize");
    assert_eq!(back, table);
    assert_eq!(back.decide(&place(lunch(), released, None)), Ok(vec![]));
}
