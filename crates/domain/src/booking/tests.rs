//! Given/when/then tests of the Booking aggregate.

use super::*;
use events::fixtures::{cancelled, confirmed, dinner, initiated, rejected, request_for, t1, ts};

fn request(id: BookingId) -> TableBookingInitiated {
    request_for(&t1(), id, 2)
}

fn confirm() -> BookingCommand {
    BookingCommand::Confirm {
        table_id: t1(),
        time_slot: dinner(),
    }
}

fn cancel_at(now: &str) -> BookingCommand {
    BookingCommand::Cancel {
        cause: CancellationCause::Customer,
        now: ts(now),
    }
}

fn given(events: &[BookingEvent]) -> Booking {
    Booking::replay(events)
}

#[test]
fn given_no_booking_when_a_customer_initiates_one_then_it_is_initiated() {
    let id = BookingId::new();
    let events = given(&[]).decide(&BookingCommand::Initiate(request(id)));
    assert_eq!(events, Ok(vec![initiated(id, 2)]));
    assert_eq!(
        given(&[initiated(id, 2)]).status,
        Some(BookingStatus::Initiated)
    );
}

#[test]
fn given_an_initiated_booking_when_the_same_request_comes_again_then_nothing_changes() {
    let id = BookingId::new();
    let booking = given(&[initiated(id, 2)]);
    assert_eq!(
        booking.decide(&BookingCommand::Initiate(request(id))),
        Ok(vec![])
    );
}

#[test]
fn given_a_booking_made_by_an_earlier_release_when_its_keyed_request_is_retried_then_nothing_changes()
 {
    // The earlier release kept the customer in clear; this one seals it.
    let id = BookingId::new();
    let mut earlier = request(id);
    earlier.customer = Some(events::Customer {
        name: "Ada".into(),
        email: "ada@example.com".into(),
    });
    let mut retried = request(id);
    retried.access_code_digest = events::AccessCodeDigest::new("hmac-sha256:0a0b0c0d:ff");
    retried.sealed_customer = Some("v1:00:11".to_owned());
    retried.email_digest = Some("ab".repeat(32));
    let booking = given(&[earlier.into()]);
    assert_eq!(
        booking.decide(&BookingCommand::Initiate(retried)),
        Ok(vec![])
    );
}

#[test]
fn given_a_booking_rejected_for_an_unknown_table_when_the_request_is_retried_then_nothing_changes()
{
    // The table may have been added since: the retry is still the same request.
    let id = BookingId::new();
    let unknown = TableBookingInitiated {
        unknown_table: true,
        ..request(id)
    };
    let booking = given(&[unknown.into(), rejected(id, RejectionReason::TableNotFound)]);
    assert_eq!(
        booking.decide(&BookingCommand::Initiate(request(id))),
        Ok(vec![])
    );
}

#[test]
fn given_a_confirmed_booking_when_its_customer_is_erased_then_the_person_goes_and_the_booking_stays()
 {
    let id = BookingId::new();
    let mut request = request(id);
    request.sealed_customer = Some("sealed".to_owned());
    let booking = given(&[request.into(), confirmed(id)]);
    let events = booking.decide(&BookingCommand::EraseCustomer);
    let erased: BookingEvent = TableBookingCustomerErased { id }.into();
    assert_eq!(events, Ok(vec![erased.clone()]));
    let after = booking.evolve(&erased);
    assert!(after.customer_erased);
    assert_eq!(after.status, Some(BookingStatus::Confirmed));
    let kept = after.request.as_ref().expect("request");
    assert_eq!(
        (kept.customer.clone(), kept.sealed_customer.clone()),
        (None, None)
    );
    assert_eq!(kept.table_ids, [t1()]);
    // Erasing again changes nothing.
    assert_eq!(after.decide(&BookingCommand::EraseCustomer), Ok(vec![]));
}

#[test]
fn given_no_booking_when_its_customer_is_erased_then_it_is_not_found() {
    assert_eq!(
        given(&[]).decide(&BookingCommand::EraseCustomer),
        Err(BookingRejection::NotFound)
    );
}

#[test]
fn given_a_booking_when_a_different_request_uses_its_id_then_it_is_refused() {
    let id = BookingId::new();
    let mut other = request(id);
    other.people = None;
    let result = given(&[initiated(id, 2)]).decide(&BookingCommand::Initiate(other));
    assert_eq!(result, Err(BookingRejection::AlreadyExists));
}

#[test]
fn given_no_booking_when_anything_but_initiate_arrives_then_it_is_not_found() {
    for command in [
        confirm(),
        BookingCommand::Reject {
            reason: RejectionReason::Timeout,
        },
        cancel_at("2026-12-01T00:00:00Z"),
    ] {
        assert_eq!(given(&[]).decide(&command), Err(BookingRejection::NotFound));
    }
}

#[test]
fn given_an_initiated_booking_when_its_lock_is_placed_then_it_is_confirmed() {
    let id = BookingId::new();
    assert_eq!(
        given(&[initiated(id, 2)]).decide(&confirm()),
        Ok(vec![confirmed(id)])
    );
}

#[test]
fn given_a_confirmed_booking_when_the_confirmation_is_redelivered_then_nothing_changes() {
    let id = BookingId::new();
    assert_eq!(
        given(&[initiated(id, 2), confirmed(id)]).decide(&confirm()),
        Ok(vec![])
    );
}

#[test]
fn given_a_booking_when_a_lock_for_another_slot_confirms_it_then_it_is_refused() {
    let id = BookingId::new();
    let other_slot =
        TimeSlot::new(ts("2026-12-25T18:00:00Z"), ts("2026-12-25T20:00:00Z")).expect("slot");
    let command = BookingCommand::Confirm {
        table_id: t1(),
        time_slot: other_slot,
    };
    assert_eq!(
        given(&[initiated(id, 2)]).decide(&command),
        Err(BookingRejection::LockMismatch)
    );
}

#[test]
fn given_a_rejected_or_cancelled_booking_when_a_late_lock_confirms_it_then_it_is_not_live() {
    let id = BookingId::new();
    let rejected_booking = given(&[initiated(id, 2), rejected(id, RejectionReason::SlotTaken)]);
    assert_eq!(
        rejected_booking.decide(&confirm()),
        Err(BookingRejection::NotLive(BookingStatus::Rejected))
    );
    let cancelled_booking = given(&[initiated(id, 2), cancelled(id)]);
    assert_eq!(
        cancelled_booking.decide(&confirm()),
        Err(BookingRejection::NotLive(BookingStatus::Cancelled))
    );
    assert!(!rejected_booking.status.is_some_and(BookingStatus::is_live));
    assert!(!cancelled_booking.status.is_some_and(BookingStatus::is_live));
}

#[test]
fn given_an_initiated_booking_when_its_lock_fails_or_it_times_out_then_it_is_rejected_with_the_reason()
 {
    let id = BookingId::new();
    for reason in [RejectionReason::SlotTaken, RejectionReason::Timeout] {
        let events = given(&[initiated(id, 2)]).decide(&BookingCommand::Reject { reason });
        assert_eq!(events, Ok(vec![rejected(id, reason)]));
    }
    let state = given(&[initiated(id, 2), rejected(id, RejectionReason::SlotTaken)]);
    assert_eq!(state.rejection, Some(RejectionReason::SlotTaken));
}

#[test]
fn given_a_confirmed_booking_when_a_timeout_arrives_then_it_stays_confirmed() {
    let id = BookingId::new();
    let booking = given(&[initiated(id, 2), confirmed(id)]);
    let result = booking.decide(&BookingCommand::Reject {
        reason: RejectionReason::Timeout,
    });
    assert_eq!(
        result,
        Err(BookingRejection::NotPending(BookingStatus::Confirmed))
    );
}

#[test]
fn given_a_rejected_booking_when_the_rejection_is_redelivered_then_nothing_changes() {
    let id = BookingId::new();
    let booking = given(&[initiated(id, 2), rejected(id, RejectionReason::SlotTaken)]);
    let result = booking.decide(&BookingCommand::Reject {
        reason: RejectionReason::Timeout,
    });
    assert_eq!(result, Ok(vec![]));
}

#[test]
fn given_a_confirmed_booking_when_cancelled_before_its_slot_then_it_is_cancelled() {
    let id = BookingId::new();
    let booking = given(&[initiated(id, 2), confirmed(id)]);
    assert_eq!(
        booking.decide(&cancel_at("2026-12-24T17:59:59Z")),
        Ok(vec![cancelled(id)])
    );
}

#[test]
fn given_a_pending_booking_when_cancelled_then_it_is_cancelled_and_a_late_lock_is_not_live() {
    let id = BookingId::new();
    let booking = given(&[initiated(id, 2)]);
    assert_eq!(
        booking.decide(&cancel_at("2026-12-01T00:00:00Z")),
        Ok(vec![cancelled(id)])
    );
}

#[test]
fn given_a_confirmed_booking_when_cancelled_once_its_slot_started_then_it_is_refused() {
    let id = BookingId::new();
    let booking = given(&[initiated(id, 2), confirmed(id)]);
    assert_eq!(
        booking.decide(&cancel_at("2026-12-24T18:00:00Z")),
        Err(BookingRejection::SlotStarted)
    );
}

#[test]
fn given_a_rejected_booking_when_cancelled_then_it_is_refused_as_already_rejected() {
    let id = BookingId::new();
    let booking = given(&[initiated(id, 2), rejected(id, RejectionReason::SlotTaken)]);
    assert_eq!(
        booking.decide(&cancel_at("2026-12-01T00:00:00Z")),
        Err(BookingRejection::AlreadyRejected)
    );
}

#[test]
fn given_a_cancelled_booking_when_cancelled_again_then_nothing_changes() {
    let id = BookingId::new();
    let booking = given(&[initiated(id, 2), confirmed(id), cancelled(id)]);
    assert_eq!(
        booking.decide(&cancel_at("2026-12-24T19:00:00Z")),
        Ok(vec![])
    );
}

fn table(raw: &str) -> TableId {
    TableId::parse(raw).expect("table id")
}

/// A booking of `t8` and `t9` joined, at dinner.
fn joined(id: BookingId) -> TableBookingInitiated {
    TableBookingInitiated {
        table_id: None,
        table_ids: vec![table("t8"), table("t9")],
        assigned: true,
        ..request_for(&t1(), id, 6)
    }
}

fn lock_of(raw: &str) -> BookingCommand {
    BookingCommand::Confirm {
        table_id: table(raw),
        time_slot: dinner(),
    }
}

#[test]
fn given_a_joined_booking_when_its_first_table_is_locked_then_it_waits_for_the_last() {
    let id = BookingId::new();
    let booking = given(&[joined(id).into()]);
    assert_eq!(booking.decide(&lock_of("t8")), Ok(vec![]));
}

#[test]
fn given_a_joined_booking_when_its_last_table_is_locked_then_it_is_confirmed_with_every_table() {
    let id = BookingId::new();
    let booking = given(&[joined(id).into()]);
    let confirmed: BookingEvent = TableBookingConfirmed {
        id,
        table_id: None,
        table_ids: vec![table("t8"), table("t9")],
        time_slot: dinner(),
    }
    .into();
    assert_eq!(booking.decide(&lock_of("t9")), Ok(vec![confirmed.clone()]));
    // A lock of one of its tables after that changes nothing.
    let after = booking.evolve(&confirmed);
    assert_eq!(after.decide(&lock_of("t8")), Ok(vec![]));
}

#[test]
fn given_a_joined_booking_when_a_table_not_its_own_is_locked_for_it_then_it_is_refused() {
    let id = BookingId::new();
    let booking = given(&[joined(id).into()]);
    assert_eq!(
        booking.decide(&lock_of("t1")),
        Err(BookingRejection::LockMismatch)
    );
}

#[test]
fn given_a_joined_booking_when_it_is_cancelled_then_the_cancellation_names_every_table() {
    let id = BookingId::new();
    let booking = given(&[joined(id).into()]);
    let Ok(events) = booking.decide(&cancel_at("2026-12-24T12:00:00Z")) else {
        panic!("refused");
    };
    let [BookingEvent::Cancelled(cancelled)] = events.as_slice() else {
        panic!("{events:?}");
    };
    assert_eq!(cancelled.table_id, None);
    assert_eq!(cancelled.table_ids, [table("t8"), table("t9")]);
    assert_eq!(cancelled.time_slot, Some(dinner()));
}
