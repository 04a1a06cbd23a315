//! The Table aggregate: a table's existence, seats and locks.
//!
//! Lock placement never fails as a command: a table that cannot be locked records
//! `table-lock-placement-failed`, which the booking saga turns into a rejection. Only the
//! staff commands (add, remove) can be refused.

use std::collections::BTreeMap;
use std::ops::Bound;

use events::{
    BookingId, LockFailureReason, LockRemovalCause, PartySize, Revision, Seats, TableAdded,
    TableEvent, TableId, TableLockPlaced, TableLockPlacementFailed, TableLockRemoved, TableRemoved,
    TimeSlot,
};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::Aggregate;

mod decisions;

use decisions::Decisions;

/// What can be asked of a table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TableCommand {
    /// Staff add a table.
    Add { id: TableId, seats: Seats },
    /// Staff remove a table; refused while a lock is held for a slot not ended at `now`.
    Remove { id: TableId, now: Timestamp },
    /// The locking saga asks to hold the table for a booking, at `now`, for the place it
    /// has at `revision` (0 as booked, `n` for its `n`-th change). Nothing is placed for a
    /// slot that has ended by then.
    PlaceLock {
        id: TableId,
        time_slot: TimeSlot,
        booking_id: BookingId,
        revision: Revision,
        people: Option<PartySize>,
        now: Timestamp,
    },
    /// The table is free again for the booking's slot: its lock is removed, or, when the
    /// lock of `revision` has not been placed yet, the release is recorded so that it
    /// never will be.
    RemoveLock {
        id: TableId,
        booking_id: BookingId,
        time_slot: TimeSlot,
        revision: Revision,
        cause: LockRemovalCause,
        now: Timestamp,
    },
}

/// Why a staff command was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TableRejection {
    /// The id is taken, also by a removed table (ids are never reused).
    #[error("table {0} already exists")]
    AlreadyExists(TableId),
    /// No such table, or it was removed.
    #[error("table {0} does not exist")]
    NotFound(TableId),
    /// A booking holds the table for a slot that has not ended.
    #[error("table {id} is locked for the slot starting {}", slot.from())]
    Locked { id: TableId, slot: TimeSlot },
}

/// Whether the table exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum TableStatus {
    #[default]
    Unknown,
    Active,
    Removed,
}

/// A held lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Lock {
    pub time_slot: TimeSlot,
    pub booking_id: BookingId,
}

/// The state of one table, folded from its events. Serializable: table-manager keeps
/// snapshots of it, so a cold load reads a snapshot and the events after it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Table {
    pub status: TableStatus,
    pub seats: Option<Seats>,
    /// Held locks by slot start.
    locks: BTreeMap<Timestamp, Lock>,
    /// Every (booking, slot) a lock decision was recorded for (placed, failed or
    /// released): a redelivered request for one of them changes nothing. Bounded by
    /// [`Aggregate::prune`], which forgets the slots that have ended.
    decided: Decisions,
}

impl Table {
    /// The locks held now, by slot start.
    pub fn locks(&self) -> impl Iterator<Item = &Lock> {
        self.locks.values()
    }

    /// The lock a booking holds, in any slot, if any.
    pub fn lock_of(&self, booking: BookingId) -> Option<&Lock> {
        self.locks.values().find(|lock| lock.booking_id == booking)
    }

    /// The lock a booking holds in `slot`, if any.
    pub fn lock_in(&self, booking: BookingId, slot: &TimeSlot) -> Option<&Lock> {
        self.locks
            .get(&slot.from())
            .filter(|lock| lock.booking_id == booking && lock.time_slot == *slot)
    }

    /// How many lock decisions the table remembers (bounded: see [`Aggregate::prune`]).
    pub fn remembered(&self) -> usize {
        self.decided.count()
    }

    /// The lock overlapping `slot`, if any. The locks of a table never overlap one
    /// another (none is placed over another), so by their starts only two can: the last
    /// one starting by `slot`'s start, and the first one starting inside it.
    fn overlapping(&self, slot: &TimeSlot) -> Option<&Lock> {
        let before = self.locks.range(..=slot.from()).next_back();
        let inside = self
            .locks
            .range((Bound::Excluded(slot.from()), Bound::Excluded(slot.to())))
            .next();
        before
            .into_iter()
            .chain(inside)
            .map(|(_, lock)| lock)
            .find(|lock| lock.time_slot.overlaps(slot))
    }

    fn place_lock(
        &self,
        id: &TableId,
        time_slot: TimeSlot,
        (booking_id, revision): (BookingId, Revision),
        people: Option<PartySize>,
        now: Timestamp,
    ) -> Vec<TableEvent> {
        // Decided before (a redelivery, or released before it arrived), or too late to
        // matter: a booking for an ended slot has long timed out.
        if self.decided.contains(booking_id, &time_slot, revision) || time_slot.has_ended(now) {
            return Vec::new();
        }
        let failed = |reason| {
            vec![
                TableLockPlacementFailed {
                    id: id.clone(),
                    time_slot,
                    booking_id,
                    revision,
                    reason,
                }
                .into(),
            ]
        };
        match self.status {
            TableStatus::Unknown => return failed(LockFailureReason::TableNotFound),
            TableStatus::Removed => return failed(LockFailureReason::TableRemoved),
            TableStatus::Active => {}
        }
        let too_small = match (people, self.seats) {
            (Some(people), Some(seats)) => people.get() > seats.get(),
            _ => false,
        };
        if too_small {
            return failed(LockFailureReason::TooSmall);
        }
        if self.overlapping(&time_slot).is_some() {
            return failed(LockFailureReason::SlotTaken);
        }
        vec![
            TableLockPlaced {
                id: id.clone(),
                time_slot,
                booking_id,
                revision,
            }
            .into(),
        ]
    }

    fn remove_lock(
        &self,
        id: &TableId,
        (booking_id, revision): (BookingId, Revision),
        time_slot: TimeSlot,
        cause: LockRemovalCause,
        now: Timestamp,
    ) -> Vec<TableEvent> {
        let removed = |time_slot| {
            vec![
                TableLockRemoved {
                    id: id.clone(),
                    time_slot,
                    booking_id,
                    revision,
                    cause,
                }
                .into(),
            ]
        };
        if self.lock_in(booking_id, &time_slot).is_some() {
            return removed(time_slot);
        }
        // The release overtook the placement (a redelivered or retried request, a second
        // replica): recorded, so the placement that comes later places nothing. Not for a
        // table that holds no lock anyway, nor for a slot that is over.
        let pending = self.status == TableStatus::Active
            && !self.decided.contains(booking_id, &time_slot, revision)
            && cause != LockRemovalCause::SlotEnded
            && !time_slot.has_ended(now);
        if pending {
            removed(time_slot)
        } else {
            Vec::new()
        }
    }
}

impl Aggregate for Table {
    type Id = TableId;
    type Command = TableCommand;
    type Event = TableEvent;
    type Rejection = TableRejection;

    fn decide(&self, command: &TableCommand) -> Result<Vec<TableEvent>, TableRejection> {
        match command {
            TableCommand::Add { id, seats } => match self.status {
                TableStatus::Unknown => Ok(vec![
                    TableAdded {
                        id: id.clone(),
                        seats: *seats,
                    }
                    .into(),
                ]),
                TableStatus::Active | TableStatus::Removed => {
                    Err(TableRejection::AlreadyExists(id.clone()))
                }
            },
            TableCommand::Remove { id, now } => {
                if self.status != TableStatus::Active {
                    return Err(TableRejection::NotFound(id.clone()));
                }
                let held = self.locks.values().find(|l| !l.time_slot.has_ended(*now));
                if let Some(lock) = held {
                    return Err(TableRejection::Locked {
                        id: id.clone(),
                        slot: lock.time_slot,
                    });
                }
                Ok(vec![TableRemoved { id: id.clone() }.into()])
            }
            TableCommand::PlaceLock {
                id,
                time_slot,
                booking_id,
                revision,
                people,
                now,
            } => Ok(self.place_lock(id, *time_slot, (*booking_id, *revision), *people, *now)),
            TableCommand::RemoveLock {
                id,
                booking_id,
                time_slot,
                revision,
                cause,
                now,
            } => Ok(self.remove_lock(id, (*booking_id, *revision), *time_slot, *cause, *now)),
        }
    }

    /// Forgets the decisions for slots that ended by `now`: a lock request for such a slot
    /// is never placed, so remembering them changes no decision.
    fn prune(mut self, now: Timestamp) -> Self {
        self.decided.prune(now);
        self
    }

    fn evolve(mut self, event: &TableEvent) -> Self {
        match event {
            TableEvent::Added(e) => {
                self.status = TableStatus::Active;
                self.seats = Some(e.seats);
            }
            TableEvent::Removed(_) => self.status = TableStatus::Removed,
            TableEvent::LockPlaced(e) => {
                self.decided.record(e.booking_id, &e.time_slot, e.revision);
                self.locks.insert(
                    e.time_slot.from(),
                    Lock {
                        time_slot: e.time_slot,
                        booking_id: e.booking_id,
                    },
                );
            }
            TableEvent::LockPlacementFailed(e) => {
                self.decided.record(e.booking_id, &e.time_slot, e.revision);
            }
            TableEvent::LockRemoved(e) => {
                self.decided.record(e.booking_id, &e.time_slot, e.revision);
                let start = e.time_slot.from();
                if self.lock_in(e.booking_id, &e.time_slot).is_some() {
                    self.locks.remove(&start);
                }
            }
            // Stored on the combinations' own subject, never a table's.
            TableEvent::CombinationAdded(_) | TableEvent::CombinationRemoved(_) => {}
        }
        self
    }
}

#[cfg(test)]
mod lookup_tests;
#[cfg(test)]
mod revision_tests;
#[cfg(test)]
mod tests;
