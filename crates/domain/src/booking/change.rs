//! Changing a confirmed booking (ADR 0029): the new tables are locked before the old are
//! released, so a change takes effect whole or not at all.
//!
//! `table-booking-change-requested` asks table-manager to lock the tables of the new place
//! the booking does not hold already; the lock of the last of them (in id order, as for a
//! new booking) turns the request into `table-booking-changed`, after which table-manager
//! releases the old tables not kept. A refusal, a timeout or a cancellation turns it into
//! `table-booking-change-rejected`, after which table-manager frees whatever it locked for
//! the new place. Only one change is pending at a time; the booking stays `confirmed`.

use events::{
    BookingEvent, BookingPlace, BookingStatus, ChangeRejectionReason, Revision,
    TableBookingChangeRejected, TableBookingChangeRequested, TableBookingChanged, TableId,
    TimeSlot,
};
use jiff::Timestamp;

use super::{Booking, BookingRejection, MAX_CHANGES};

impl Booking {
    /// `RequestChange`: the booking, `status` now, asked to move to `to` at `now`.
    pub(super) fn request_change(
        &self,
        status: BookingStatus,
        to: &BookingPlace,
        assigned: bool,
        now: Timestamp,
    ) -> Result<Vec<BookingEvent>, BookingRejection> {
        let (Some(request), Some(from)) = (&self.request, self.place()) else {
            return Err(BookingRejection::NotFound);
        };
        if status != BookingStatus::Confirmed {
            return Err(BookingRejection::NotConfirmed(status));
        }
        if now >= from.time_slot.from() || now >= to.time_slot.from() {
            return Err(BookingRejection::SlotStarted);
        }
        if let Some(pending) = &self.pending_change {
            // The same change asked again (a retry) waits for the first.
            return if same_place(&pending.to, to) {
                Ok(vec![])
            } else {
                Err(BookingRejection::ChangePending)
            };
        }
        if same_place(&from, to) {
            // Where it is already: nothing to do (also a retry of a change done).
            return Ok(vec![]);
        }
        if self.revision >= MAX_CHANGES {
            return Err(BookingRejection::TooManyChanges);
        }
        let mut to = to.clone();
        to.table_ids.sort();
        to.table_ids.dedup();
        let requested = TableBookingChangeRequested {
            id: request.id,
            revision: self.revision + 1,
            from,
            to,
            assigned,
        };
        let nothing_to_lock = requested.from.move_to(&requested.to).to_lock.is_empty();
        let mut events = vec![requested.clone().into()];
        if nothing_to_lock {
            // The same tables in the same slot (the party changed): done at once.
            events.push(changed(&requested).into());
        }
        Ok(events)
    }

    /// `ChangeLocked`: a new table of the change `revision` is locked for it. The lock of
    /// the last of its new tables means every one is held (table-manager locks them in id
    /// order and frees them all on a refusal): the booking moves.
    pub(super) fn change_locked(
        &self,
        table: &TableId,
        slot: &TimeSlot,
        revision: Revision,
    ) -> Vec<BookingEvent> {
        match &self.pending_change {
            Some(pending)
                if pending.revision == revision
                    && pending.to.time_slot == *slot
                    && pending.from.move_to(&pending.to).to_lock.iter().max() == Some(table) =>
            {
                vec![changed(pending).into()]
            }
            // Another of its tables, or a change decided already (its locks are freed by
            // table-manager when it sees the decision).
            _ => Vec::new(),
        }
    }

    /// The change `revision` is refused for `reason`, if it is still pending.
    pub(super) fn change_decided_against(
        &self,
        revision: Revision,
        reason: ChangeRejectionReason,
    ) -> Vec<BookingEvent> {
        match &self.pending_change {
            Some(pending) if pending.revision == revision => self.give_up_change(reason),
            _ => Vec::new(),
        }
    }

    /// The pending change, if any, rejected for `reason`.
    pub(super) fn give_up_change(&self, reason: ChangeRejectionReason) -> Vec<BookingEvent> {
        self.pending_change
            .iter()
            .map(|pending| {
                TableBookingChangeRejected {
                    id: pending.id,
                    revision: pending.revision,
                    reason,
                    from: pending.from.clone(),
                    to: pending.to.clone(),
                }
                .into()
            })
            .collect()
    }
}

fn changed(requested: &TableBookingChangeRequested) -> TableBookingChanged {
    TableBookingChanged {
        id: requested.id,
        revision: requested.revision,
        from: requested.from.clone(),
        to: requested.to.clone(),
    }
}

/// The same slot, tables and party (how the tables were found aside).
fn same_place(a: &BookingPlace, b: &BookingPlace) -> bool {
    let sorted = |place: &BookingPlace| {
        let mut tables = place.table_ids.clone();
        tables.sort();
        tables
    };
    a.time_slot == b.time_slot && a.people == b.people && sorted(a) == sorted(b)
}
