//! Given/when/then tests of changing a booking (ADR 0029).

use super::*;
use events::fixtures::{
    cancelled, change_requested, confirmed, dinner, initiated, lunch, place_at, ts,
};
use events::{TableBookingChangeRejected, TableBookingChanged};

/// Before every fixture slot.
const EARLY: &str = "2026-12-01T00:00:00Z";

fn request(to: BookingPlace) -> BookingCommand {
    BookingCommand::RequestChange {
        to,
        assigned: false,
        now: ts(EARLY),
    }
}

fn table(name: &str) -> TableId {
    TableId::parse(name).expect("table id")
}

fn booked(id: BookingId) -> Vec<BookingEvent> {
    vec![initiated(id, 2), confirmed(id)]
}

fn at_dinner() -> BookingPlace {
    place_at(dinner(), &["t1"], 2)
}

fn changed_to(id: BookingId, revision: u32, to: BookingPlace) -> BookingEvent {
    TableBookingChanged {
        id,
        revision,
        from: at_dinner(),
        to,
    }
    .into()
}

fn change_rejected(id: BookingId, to: BookingPlace, reason: ChangeRejectionReason) -> BookingEvent {
    TableBookingChangeRejected {
        id,
        revision: 1,
        reason,
        from: at_dinner(),
        to,
    }
    .into()
}

fn given(events: &[BookingEvent]) -> Booking {
    Booking::replay(events)
}

fn pending(id: BookingId, to: BookingPlace) -> Vec<BookingEvent> {
    let mut events = booked(id);
    events.push(change_requested(id, 1, at_dinner(), to).into());
    events
}

#[test]
fn given_a_confirmed_booking_when_a_change_to_lunch_is_asked_then_it_is_requested_with_both_places()
{
    let id = BookingId::new();
    let to = place_at(lunch(), &["t1"], 2);
    assert_eq!(
        given(&booked(id)).decide(&request(to.clone())),
        Ok(vec![change_requested(id, 1, at_dinner(), to).into()])
    );
}

#[test]
fn given_a_pending_change_when_its_last_new_table_is_locked_then_the_booking_moves() {
    let id = BookingId::new();
    let to = place_at(lunch(), &["t2", "t3"], 6);
    let booking = given(&pending(id, to.clone()));
    let locked = |name: &str| BookingCommand::ChangeLocked {
        table_id: table(name),
        time_slot: lunch(),
        revision: 1,
    };
    assert_eq!(
        booking.decide(&locked("t2")),
        Ok(vec![]),
        "t3 is still to come"
    );
    let events = booking.decide(&locked("t3")).expect("decided");
    assert_eq!(events, vec![changed_to(id, 1, to.clone())]);
    let booking = booking.evolve(&events[0]);
    assert_eq!(booking.place(), Some(to));
    assert_eq!(booking.status, Some(BookingStatus::Confirmed));
    assert_eq!(booking.pending_change, None);
}

#[test]
fn given_a_pending_change_when_a_new_table_is_refused_then_the_change_is_rejected_and_the_booking_stays()
 {
    let id = BookingId::new();
    let to = place_at(lunch(), &["t2"], 2);
    let booking = given(&pending(id, to.clone()));
    let refused = BookingCommand::ChangeLockFailed {
        table_id: table("t2"),
        reason: LockFailureReason::SlotTaken,
        revision: 1,
    };
    let events = booking.decide(&refused).expect("decided");
    assert_eq!(
        events,
        vec![change_rejected(id, to, ChangeRejectionReason::SlotTaken)]
    );
    let booking = booking.evolve(&events[0]);
    assert_eq!(booking.place(), Some(at_dinner()));
    assert_eq!(booking.pending_change, None);
}

#[test]
fn given_a_pending_change_when_it_times_out_then_it_is_rolled_back_and_a_late_lock_changes_nothing()
{
    let id = BookingId::new();
    let to = place_at(lunch(), &["t2"], 2);
    let booking = given(&pending(id, to.clone()));
    let events = booking
        .decide(&BookingCommand::RollBackChange { revision: 1 })
        .expect("decided");
    assert_eq!(
        events,
        vec![change_rejected(id, to, ChangeRejectionReason::Timeout)]
    );
    let booking = booking.evolve(&events[0]);
    let late = BookingCommand::ChangeLocked {
        table_id: table("t2"),
        time_slot: lunch(),
        revision: 1,
    };
    assert_eq!(booking.decide(&late), Ok(vec![]));
    assert_eq!(
        booking.decide(&BookingCommand::RollBackChange { revision: 1 }),
        Ok(vec![]),
        "rolled back once"
    );
}

#[test]
fn given_a_change_done_when_its_timeout_comes_then_nothing_is_rolled_back() {
    let id = BookingId::new();
    let to = place_at(lunch(), &["t1"], 2);
    let mut history = pending(id, to.clone());
    history.push(changed_to(id, 1, to));
    assert_eq!(
        given(&history).decide(&BookingCommand::RollBackChange { revision: 1 }),
        Ok(vec![])
    );
}

#[test]
fn given_a_change_of_the_party_only_when_it_is_asked_then_it_takes_effect_at_once() {
    let id = BookingId::new();
    let to = place_at(dinner(), &["t1"], 4);
    let requested = change_requested(id, 1, at_dinner(), to.clone());
    assert_eq!(
        given(&booked(id)).decide(&request(to.clone())),
        Ok(vec![requested.into(), changed_to(id, 1, to)])
    );
}

#[test]
fn given_a_pending_change_when_the_same_change_is_asked_again_then_it_waits_and_another_is_refused()
{
    let id = BookingId::new();
    let to = place_at(lunch(), &["t2"], 2);
    let booking = given(&pending(id, to.clone()));
    assert_eq!(booking.decide(&request(to)), Ok(vec![]));
    assert_eq!(
        booking.decide(&request(place_at(lunch(), &["t3"], 2))),
        Err(BookingRejection::ChangePending)
    );
}

#[test]
fn given_a_booking_where_it_is_asked_to_be_when_a_change_is_asked_then_nothing_is_written() {
    let id = BookingId::new();
    assert_eq!(given(&booked(id)).decide(&request(at_dinner())), Ok(vec![]));
}

#[test]
fn given_a_booking_not_confirmed_or_started_when_a_change_is_asked_then_it_is_refused() {
    let id = BookingId::new();
    let to = place_at(lunch(), &["t1"], 2);
    assert_eq!(
        given(&[initiated(id, 2)]).decide(&request(to.clone())),
        Err(BookingRejection::NotConfirmed(BookingStatus::Initiated))
    );
    let mut history = booked(id);
    history.push(cancelled(id));
    assert_eq!(
        given(&history).decide(&request(to.clone())),
        Err(BookingRejection::NotConfirmed(BookingStatus::Cancelled))
    );
    let started = BookingCommand::RequestChange {
        to: place_at(dinner(), &["t2"], 2),
        assigned: false,
        now: dinner().from(),
    };
    assert_eq!(
        given(&booked(id)).decide(&started),
        Err(BookingRejection::SlotStarted)
    );
}

#[test]
fn given_a_booking_changed_the_most_times_when_another_change_is_asked_then_it_is_refused() {
    let id = BookingId::new();
    let mut history = booked(id);
    let mut from = at_dinner();
    for revision in 1..=MAX_CHANGES {
        let to = place_at(dinner(), &["t1"], 2 + u64::from(revision));
        history.push(change_requested(id, revision, from.clone(), to.clone()).into());
        history.push(
            TableBookingChanged {
                id,
                revision,
                from,
                to: to.clone(),
            }
            .into(),
        );
        from = to;
    }
    assert_eq!(
        given(&history).decide(&request(at_dinner())),
        Err(BookingRejection::TooManyChanges)
    );
}

#[test]
fn given_a_pending_change_when_the_booking_is_cancelled_then_the_change_is_given_up_and_its_old_place_released()
 {
    let id = BookingId::new();
    let to = place_at(lunch(), &["t2"], 2);
    let cancel = BookingCommand::Cancel {
        cause: CancellationCause::Customer,
        now: ts(EARLY),
    };
    assert_eq!(
        given(&pending(id, to.clone())).decide(&cancel),
        Ok(vec![
            change_rejected(id, to, ChangeRejectionReason::Cancelled),
            cancelled(id)
        ])
    );
}

#[test]
fn given_a_booking_moved_to_lunch_when_it_is_cancelled_then_its_new_place_is_released() {
    let id = BookingId::new();
    let to = place_at(lunch(), &["t2"], 2);
    let mut history = pending(id, to.clone());
    history.push(changed_to(id, 1, to));
    let cancel = BookingCommand::Cancel {
        cause: CancellationCause::Customer,
        now: ts(EARLY),
    };
    let events = given(&history).decide(&cancel).expect("decided");
    let [BookingEvent::Cancelled(cancelled)] = events.as_slice() else {
        panic!("one cancellation: {events:?}");
    };
    assert_eq!(cancelled.table_ids, vec![table("t2")]);
    assert_eq!(cancelled.time_slot, Some(lunch()));
}

#[test]
fn given_a_booking_moved_when_a_late_lock_of_its_first_place_comes_then_nothing_changes() {
    let id = BookingId::new();
    let to = place_at(lunch(), &["t2"], 2);
    let mut history = pending(id, to.clone());
    history.push(changed_to(id, 1, to));
    let late = BookingCommand::Confirm {
        table_id: table("t1"),
        time_slot: dinner(),
    };
    // Refused as not matching the booking: the saga settles it and writes nothing.
    assert_eq!(
        given(&history).decide(&late),
        Err(BookingRejection::LockMismatch)
    );
}
