//! Events and values the unit tests of the saga steps and table commands share.

use events::{
    AccessCodeDigest, BookingEvent, BookingId, CancellationCause, LockFailureReason,
    LockRemovalCause, PartySize, RejectionReason, Seats, TableAdded, TableBookingCancelled,
    TableBookingInitiated, TableBookingRejected, TableEvent, TableId, TableLockPlaced,
    TableLockPlacementFailed, TableLockRemoved, TableRemoved, TimeSlot,
};
use jiff::Timestamp;

pub fn ts(s: &str) -> Timestamp {
    s.parse().expect("timestamp")
}

pub fn t1() -> TableId {
    TableId::parse("t1").expect("table id")
}

pub fn dinner() -> TimeSlot {
    TimeSlot::new(ts("2026-12-24T18:00:00Z"), ts("2026-12-24T20:00:00Z")).expect("slot")
}

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

pub fn placed(booking: BookingId) -> TableEvent {
    TableLockPlaced {
        id: t1(),
        time_slot: dinner(),
        booking_id: booking,
    }
    .into()
}

pub fn failed(table: &TableId, booking: BookingId, reason: LockFailureReason) -> TableEvent {
    TableLockPlacementFailed {
        id: table.clone(),
        time_slot: dinner(),
        booking_id: booking,
        reason,
    }
    .into()
}

pub fn lock_removed(booking: BookingId, cause: LockRemovalCause) -> TableEvent {
    TableLockRemoved {
        id: t1(),
        time_slot: dinner(),
        booking_id: booking,
        cause,
    }
    .into()
}

pub fn initiated_for(table: &TableId, booking: BookingId, people: u64) -> BookingEvent {
    TableBookingInitiated {
        id: booking,
        table_id: table.clone(),
        time_slot: dinner(),
        people: Some(PartySize::new(people).expect("people")),
        customer: None,
        access_code_digest: AccessCodeDigest::new("digest"),
    }
    .into()
}

pub fn initiated(booking: BookingId, people: u64) -> BookingEvent {
    initiated_for(&t1(), booking, people)
}

pub fn cancelled(booking: BookingId) -> BookingEvent {
    TableBookingCancelled {
        id: booking,
        cause: CancellationCause::Customer,
        table_id: Some(t1()),
        time_slot: Some(dinner()),
    }
    .into()
}

pub fn rejected(booking: BookingId, reason: RejectionReason) -> BookingEvent {
    TableBookingRejected {
        id: booking,
        reason,
        table_id: Some(t1()),
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
        time_slot: None,
    }
    .into()
}
