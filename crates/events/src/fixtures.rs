//! Sample events for unit tests of the aggregates, the saga steps and the read models:
//! table `t1` and the dinner slot of 2026-12-24 (18:00-20:00Z). Behind the `fixtures`
//! feature, which only dev-dependencies turn on.

use jiff::Timestamp;

use crate::{
    AccessCodeDigest, BookingEvent, BookingId, BookingPlace, CancellationCause, LockFailureReason,
    LockRemovalCause, PartySize, RejectionReason, Seats, TableAdded, TableBookingCancelled,
    TableBookingChangeRequested, TableBookingConfirmed, TableBookingInitiated,
    TableBookingRejected, TableEvent, TableId, TableLockPlaced, TableLockPlacementFailed,
    TableLockRemoved, TableRemoved, TimeSlot,
};

pub fn ts(s: &str) -> Timestamp {
    s.parse().expect("timestamp")
}

pub fn t1() -> TableId {
    TableId::parse("t1").expect("table id")
}

/// 2026-12-24 18:00-20:00Z (19:00-21:00 in Paris).
pub fn dinner() -> TimeSlot {
    TimeSlot::new(ts("2026-12-24T18:00:00Z"), ts("2026-12-24T20:00:00Z")).expect("slot")
}

/// 2026-12-24 11:00-13:00Z (12:00-14:00 in Paris).
pub fn lunch() -> TimeSlot {
    TimeSlot::new(ts("2026-12-24T11:00:00Z"), ts("2026-12-24T13:00:00Z")).expect("slot")
}

pub fn people(n: u64) -> PartySize {
    PartySize::new(n).expect("people")
}

/// `t1` added with `seats`.
pub fn added(seats: u64) -> TableEvent {
    TableAdded {
        id: t1(),
        seats: Seats::new(seats).expect("seats"),
    }
    .into()
}

pub fn removed() -> TableEvent {
    TableRemoved { id: t1() }.into()
}

/// `t1` locked for `booking` in `slot`.
pub fn placed_in(slot: TimeSlot, booking: BookingId) -> TableEvent {
    TableLockPlaced {
        id: t1(),
        time_slot: slot,
        booking_id: booking,
        revision: 0,
    }
    .into()
}

/// `t1` locked for `booking` at dinner.
pub fn placed(booking: BookingId) -> TableEvent {
    placed_in(dinner(), booking)
}

pub fn failed(table: &TableId, booking: BookingId, reason: LockFailureReason) -> TableEvent {
    TableLockPlacementFailed {
        id: table.clone(),
        time_slot: dinner(),
        booking_id: booking,
        revision: 0,
        reason,
    }
    .into()
}

pub fn lock_removed(booking: BookingId, cause: LockRemovalCause) -> TableEvent {
    lock_removed_in(dinner(), booking, cause)
}

/// `t1`'s lock for `booking` in `slot` removed.
pub fn lock_removed_in(slot: TimeSlot, booking: BookingId, cause: LockRemovalCause) -> TableEvent {
    TableLockRemoved {
        id: t1(),
        time_slot: slot,
        booking_id: booking,
        revision: 0,
        cause,
    }
    .into()
}

/// What a customer asked for: `table` at dinner for `party`, no customer details.
pub fn request_for(table: &TableId, booking: BookingId, party: u64) -> TableBookingInitiated {
    TableBookingInitiated {
        id: booking,
        table_id: Some(table.clone()),
        table_ids: vec![table.clone()],
        combination_id: None,
        assigned: false,
        time_slot: dinner(),
        people: Some(people(party)),
        customer: None,
        access_code_digest: AccessCodeDigest::new("digest"),
        unknown_table: false,
        sealed_customer: None,
        email_digest: None,
        sealed_access_code: None,
    }
}

pub fn initiated_for(table: &TableId, booking: BookingId, party: u64) -> BookingEvent {
    request_for(table, booking, party).into()
}

/// `t1` at dinner for `party`.
pub fn initiated(booking: BookingId, party: u64) -> BookingEvent {
    initiated_for(&t1(), booking, party)
}

pub fn confirmed(booking: BookingId) -> BookingEvent {
    TableBookingConfirmed {
        id: booking,
        table_id: Some(t1()),
        table_ids: vec![t1()],
        time_slot: dinner(),
    }
    .into()
}

pub fn rejected(booking: BookingId, reason: RejectionReason) -> BookingEvent {
    TableBookingRejected {
        id: booking,
        reason,
        table_id: Some(t1()),
        table_ids: vec![t1()],
        time_slot: Some(dinner()),
    }
    .into()
}

pub fn cancelled(booking: BookingId) -> BookingEvent {
    TableBookingCancelled {
        id: booking,
        cause: CancellationCause::Customer,
        table_id: Some(t1()),
        table_ids: vec![t1()],
        time_slot: Some(dinner()),
    }
    .into()
}

/// A cancellation as the release before schema v2 wrote it: without the table and slot.
pub fn cancelled_v1(booking: BookingId) -> BookingEvent {
    TableBookingCancelled {
        id: booking,
        cause: CancellationCause::Customer,
        table_id: None,
        table_ids: Vec::new(),
        time_slot: None,
    }
    .into()
}

/// A booking's place: `tables` in `slot` for `party`.
pub fn place_at(slot: TimeSlot, tables: &[&str], party: u64) -> BookingPlace {
    BookingPlace {
        time_slot: slot,
        table_ids: tables
            .iter()
            .map(|t| TableId::parse(t).expect("table id"))
            .collect(),
        combination_id: None,
        people: Some(people(party)),
    }
}

/// The `revision`-th change of `booking`, from `from` to `to`.
pub fn change_requested(
    booking: BookingId,
    revision: u32,
    from: BookingPlace,
    to: BookingPlace,
) -> TableBookingChangeRequested {
    TableBookingChangeRequested {
        id: booking,
        revision,
        from,
        to,
        assigned: false,
    }
}
