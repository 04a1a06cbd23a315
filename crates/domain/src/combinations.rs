//! The restaurant's combinations of tables: which tables staff declared joinable, and how
//! many they seat together. One aggregate holds them all (ADR 0026): an id is used once,
//! also by a removed combination, and a table's removal can ask whether a combination
//! still contains it. Whether the tables exist, and whether a booking holds a
//! combination, are facts of the tables: [`held_together`] decides the latter from them.

use std::collections::BTreeMap;

use events::{
    CombinationId, Seats, TableCombinationAdded, TableCombinationRemoved, TableEvent, TableId,
};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::{Aggregate, Lock, Table};

/// What staff can ask of the combinations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CombinationCommand {
    /// Declare `tables` (checked to exist by the caller) joinable, seating `seats`.
    Add {
        id: CombinationId,
        tables: Vec<TableId>,
        seats: Seats,
    },
    /// Remove a combination (checked not to be held by the caller).
    Remove { id: CombinationId },
}

/// Why a combination command was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CombinationRejection {
    /// The id is taken, also by a removed combination.
    #[error("combination {0} already exists")]
    AlreadyExists(CombinationId),
    /// No such combination, or it was removed.
    #[error("combination {0} does not exist")]
    NotFound(CombinationId),
}

/// One declared combination.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Combination {
    /// Sorted, distinct.
    pub tables: Vec<TableId>,
    pub seats: Seats,
    pub removed: bool,
}

/// Every combination ever declared, by id.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Combinations {
    all: BTreeMap<CombinationId, Combination>,
}

impl Combinations {
    /// The combinations not removed, by id.
    pub fn active(&self) -> impl Iterator<Item = (&CombinationId, &Combination)> {
        self.all.iter().filter(|(_, c)| !c.removed)
    }

    /// A combination, removed or not.
    pub fn get(&self, id: &CombinationId) -> Option<&Combination> {
        self.all.get(id)
    }

    /// The first combination (by id) not removed that contains `table`.
    pub fn containing(&self, table: &TableId) -> Option<&CombinationId> {
        self.active()
            .find(|(_, c)| c.tables.contains(table))
            .map(|(id, _)| id)
    }
}

impl Aggregate for Combinations {
    type Id = events::AllCombinations;
    type Command = CombinationCommand;
    type Event = TableEvent;
    type Rejection = CombinationRejection;

    fn decide(
        &self,
        command: &CombinationCommand,
    ) -> Result<Vec<TableEvent>, CombinationRejection> {
        match command {
            CombinationCommand::Add { id, tables, seats } => {
                if self.all.contains_key(id) {
                    return Err(CombinationRejection::AlreadyExists(id.clone()));
                }
                let mut tables = tables.clone();
                tables.sort();
                tables.dedup();
                Ok(vec![
                    TableCombinationAdded {
                        id: id.clone(),
                        tables,
                        seats: *seats,
                    }
                    .into(),
                ])
            }
            CombinationCommand::Remove { id } => match self.all.get(id) {
                Some(combination) if !combination.removed => {
                    Ok(vec![TableCombinationRemoved { id: id.clone() }.into()])
                }
                _ => Err(CombinationRejection::NotFound(id.clone())),
            },
        }
    }

    fn evolve(mut self, event: &TableEvent) -> Self {
        match event {
            TableEvent::CombinationAdded(e) => {
                self.all.insert(
                    e.id.clone(),
                    Combination {
                        tables: e.tables.clone(),
                        seats: e.seats,
                        removed: false,
                    },
                );
            }
            TableEvent::CombinationRemoved(e) => {
                if let Some(combination) = self.all.get_mut(&e.id) {
                    combination.removed = true;
                }
            }
            // A table's own events live on its own subject.
            _ => {}
        }
        self
    }
}

/// The lock, for a slot not ended at `now`, of a booking that holds every one of
/// `tables` (a booking of their combination); `None` when no booking holds them all.
pub fn held_together(tables: &[Table], now: Timestamp) -> Option<Lock> {
    let (first, others) = tables.split_first()?;
    first
        .locks()
        .filter(|lock| !lock.time_slot.has_ended(now))
        .find(|lock| {
            others
                .iter()
                .all(|table| table.lock_in(lock.booking_id, &lock.time_slot).is_some())
        })
        .copied()
}

#[cfg(test)]
mod tests {
    use events::fixtures::{dinner, lunch, ts};
    use events::{BookingId, TableAdded, TableLockPlaced};

    use super::*;

    fn id(raw: &str) -> CombinationId {
        CombinationId::parse(raw).expect("combination id")
    }

    fn table(raw: &str) -> TableId {
        TableId::parse(raw).expect("table id")
    }

    fn seats(n: u64) -> Seats {
        Seats::new(n).expect("seats")
    }

    fn add(raw: &str, tables: &[&str], n: u64) -> CombinationCommand {
        CombinationCommand::Add {
            id: id(raw),
            tables: tables.iter().map(|t| table(t)).collect(),
            seats: seats(n),
        }
    }

    fn given(commands: &[CombinationCommand]) -> Combinations {
        commands
            .iter()
            .fold(Combinations::default(), |state, command| {
                let events = state.decide(command).expect("decided");
                events.iter().fold(state, |state, e| state.evolve(e))
            })
    }

    #[test]
    fn given_no_combination_when_one_is_declared_then_it_is_added_with_its_tables_sorted() {
        let events = Combinations::default()
            .decide(&add("c1", &["t9", "t8"], 6))
            .expect("added");
        assert_eq!(
            events,
            vec![TableEvent::from(TableCombinationAdded {
                id: id("c1"),
                tables: vec![table("t8"), table("t9")],
                seats: seats(6),
            })]
        );
    }

    #[test]
    fn given_a_combination_when_its_id_is_declared_again_even_after_removal_then_it_is_refused() {
        let state = given(&[add("c1", &["t1", "t2"], 6)]);
        assert_eq!(
            state.decide(&add("c1", &["t3", "t4"], 6)),
            Err(CombinationRejection::AlreadyExists(id("c1")))
        );
        let state = given(&[
            add("c1", &["t1", "t2"], 6),
            CombinationCommand::Remove { id: id("c1") },
        ]);
        assert_eq!(
            state.decide(&add("c1", &["t1", "t2"], 6)),
            Err(CombinationRejection::AlreadyExists(id("c1")))
        );
    }

    #[test]
    fn given_a_removed_or_unknown_combination_when_it_is_removed_then_it_is_not_found() {
        let state = given(&[
            add("c1", &["t1", "t2"], 6),
            CombinationCommand::Remove { id: id("c1") },
        ]);
        for raw in ["c1", "c2"] {
            assert_eq!(
                state.decide(&CombinationCommand::Remove { id: id(raw) }),
                Err(CombinationRejection::NotFound(id(raw)))
            );
        }
    }

    #[test]
    fn a_table_is_contained_only_by_combinations_not_removed() {
        let state = given(&[
            add("c1", &["t1", "t2"], 6),
            add("c2", &["t2", "t3"], 6),
            CombinationCommand::Remove { id: id("c1") },
        ]);
        assert_eq!(state.containing(&table("t1")), None);
        assert_eq!(state.containing(&table("t2")), Some(&id("c2")));
        assert_eq!(state.active().count(), 1);
    }

    fn locked(raw: &str, slot: events::TimeSlot, booking: BookingId) -> Table {
        let added = TableAdded {
            id: table(raw),
            seats: seats(4),
        };
        let placed = TableLockPlaced {
            id: table(raw),
            time_slot: slot,
            booking_id: booking,
            revision: 0,
        };
        Table::replay(&[added.into(), placed.into()])
    }

    #[test]
    fn tables_are_held_together_only_when_one_booking_locks_each_of_them_in_a_slot_not_ended() {
        let (one, other) = (BookingId::new(), BookingId::new());
        let before = ts("2026-12-24T10:00:00Z");
        let joined = [locked("t1", dinner(), one), locked("t2", dinner(), one)];
        assert_eq!(
            held_together(&joined, before).map(|l| l.booking_id),
            Some(one)
        );
        // Over once the slot has ended.
        assert_eq!(held_together(&joined, ts("2026-12-24T20:00:00Z")), None);
        // Two bookings, one table each: nobody holds the combination.
        let apart = [locked("t1", dinner(), one), locked("t2", dinner(), other)];
        assert_eq!(held_together(&apart, before), None);
        let other_slot = [locked("t1", dinner(), one), locked("t2", lunch(), other)];
        assert_eq!(held_together(&other_slot, before), None);
    }
}
