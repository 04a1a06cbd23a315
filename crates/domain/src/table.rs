//! The Table aggregate: a table's existence, seats and locks.
//!
//! Lock placement never fails as a command: a table that cannot be locked records
//! `table-lock-placement-failed`, which the booking saga turns into a rejection. Only the
//! staff commands (add, remove) can be refused.

use std::collections::{BTreeMap, HashSet};

use events::{
    BookingId, LockFailureReason, LockRemovalCause, PartySize, Seats, TableAdded, TableEvent,
    TableId, TableLockPlaced, TableLockPlacementFailed, TableLockRemoved, TableRemoved, TimeSlot,
};
use jiff::Timestamp;

use crate::Aggregate;

/// What can be asked of a table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TableCommand {
    /// Staff add a table.
    Add { id: TableId, seats: Seats },
    /// Staff remove a table; refused while a lock is held for a slot not ended at `now`.
    Remove { id: TableId, now: Timestamp },
    /// The locking saga asks to hold the table for a booking.
    PlaceLock {
        id: TableId,
        time_slot: TimeSlot,
        booking_id: BookingId,
        people: Option<PartySize>,
    },
    /// The table is free again for the booking's slot.
    RemoveLock {
        id: TableId,
        booking_id: BookingId,
        cause: LockRemovalCause,
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TableStatus {
    #[default]
    Unknown,
    Active,
    Removed,
}

/// A held lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lock {
    pub time_slot: TimeSlot,
    pub booking_id: BookingId,
}

/// The state of one table, folded from its events.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Table {
    pub status: TableStatus,
    pub seats: Option<Seats>,
    /// Held locks by slot start.
    locks: BTreeMap<Timestamp, Lock>,
    /// Every booking a lock decision was recorded for (placed, failed or removed): a
    /// redelivered request for one of them changes nothing.
    decided: HashSet<BookingId>,
}

impl Table {
    /// The locks held now, by slot start.
    pub fn locks(&self) -> impl Iterator<Item = &Lock> {
        self.locks.values()
    }

    /// The lock a booking holds, if any.
    pub fn lock_of(&self, booking: BookingId) -> Option<&Lock> {
        self.locks.values().find(|lock| lock.booking_id == booking)
    }

    fn overlapping(&self, slot: &TimeSlot) -> Option<&Lock> {
        self.locks
            .values()
            .find(|lock| lock.time_slot.overlaps(slot))
    }

    fn place_lock(
        &self,
        id: &TableId,
        time_slot: TimeSlot,
        booking_id: BookingId,
        people: Option<PartySize>,
    ) -> Vec<TableEvent> {
        if self.decided.contains(&booking_id) {
            return Vec::new();
        }
        let failed = |reason| {
            vec![
                TableLockPlacementFailed {
                    id: id.clone(),
                    time_slot,
                    booking_id,
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
            }
            .into(),
        ]
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
                people,
            } => Ok(self.place_lock(id, *time_slot, *booking_id, *people)),
            TableCommand::RemoveLock {
                id,
                booking_id,
                cause,
            } => Ok(match self.lock_of(*booking_id) {
                Some(lock) => vec![
                    TableLockRemoved {
                        id: id.clone(),
                        time_slot: lock.time_slot,
                        booking_id: *booking_id,
                        cause: *cause,
                    }
                    .into(),
                ],
                None => Vec::new(),
            }),
        }
    }

    fn evolve(mut self, event: &TableEvent) -> Self {
        match event {
            TableEvent::Added(e) => {
                self.status = TableStatus::Active;
                self.seats = Some(e.seats);
            }
            TableEvent::Removed(_) => self.status = TableStatus::Removed,
            TableEvent::LockPlaced(e) => {
                self.decided.insert(e.booking_id);
                self.locks.insert(
                    e.time_slot.from(),
                    Lock {
                        time_slot: e.time_slot,
                        booking_id: e.booking_id,
                    },
                );
            }
            TableEvent::LockPlacementFailed(e) => {
                self.decided.insert(e.booking_id);
            }
            TableEvent::LockRemoved(e) => {
                self.decided.insert(e.booking_id);
                self.locks.retain(|_, lock| lock.booking_id != e.booking_id);
            }
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use events::fixtures::{added, dinner, lunch, placed_in, t1, ts};

    fn seats(n: u64) -> Seats {
        Seats::new(n).expect("seats")
    }

    fn people(n: u64) -> Option<PartySize> {
        Some(PartySize::new(n).expect("people"))
    }

    fn place(slot: TimeSlot, booking: BookingId, party: Option<PartySize>) -> TableCommand {
        TableCommand::PlaceLock {
            id: t1(),
            time_slot: slot,
            booking_id: booking,
            people: party,
        }
    }

    fn given(events: &[TableEvent]) -> Table {
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
    fn given_a_lock_on_a_slot_when_another_booking_asks_for_it_then_placement_fails_with_slot_taken()
     {
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
            reason: LockFailureReason::SlotTaken,
        }
        .into();
        let freed: TableEvent = TableLockRemoved {
            id: t1(),
            time_slot: dinner(),
            booking_id: first,
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
        let remove = TableCommand::RemoveLock {
            id: t1(),
            booking_id: first,
            cause: LockRemovalCause::BookingCancelled,
        };
        let events = table.decide(&remove).expect("decide");
        assert_eq!(events.len(), 1);
        let table = events.iter().fold(table, |t, e| t.evolve(e));
        assert_eq!(
            table.decide(&place(dinner(), second, None)),
            Ok(vec![placed_in(dinner(), second)])
        );
    }

    #[test]
    fn given_no_lock_for_a_booking_when_its_lock_is_removed_then_nothing_changes() {
        let table = given(&[added(4)]);
        let remove = TableCommand::RemoveLock {
            id: t1(),
            booking_id: BookingId::new(),
            cause: LockRemovalCause::SlotEnded,
        };
        assert_eq!(table.decide(&remove), Ok(vec![]));
    }
}
