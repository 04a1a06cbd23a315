//! Which tables and combinations are free in which slots, and which of them the
//! restaurant gives a party: pure functions of the slots asked for, the tables,
//! combinations and locks of the read model, unit-tested without I/O.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use events::read_model::{TablesView, days_overlapping};
use events::{CombinationId, PartySize, TableId, TimeSlot};
use jiff::Timestamp;
use jiff::civil::Date;

/// One local day of the range asked for, with its bookable slots.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Day {
    pub date: Date,
    pub slots: Vec<TimeSlot>,
}

/// A free combination, as `availableCombinations` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FreeCombination {
    pub id: CombinationId,
    /// Sorted.
    pub tables: Vec<TableId>,
    pub seats: u8,
}

/// One slot with a free table or combination for the party.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FreeSlot {
    pub slot: TimeSlot,
    /// Sorted by id.
    pub tables: Vec<TableId>,
    /// Sorted by id.
    pub combinations: Vec<FreeCombination>,
}

/// What one day offers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayAvailability {
    pub date: Date,
    /// Only the slots with at least one free table or combination.
    pub slots: Vec<FreeSlot>,
}

/// Where a party can sit in a slot: one table, or the tables of a combination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    /// Sorted; one for a single table.
    pub tables: Vec<TableId>,
    pub combination: Option<CombinationId>,
    pub seats: u8,
}

/// The dates of the day documents that hold every lock that can overlap one of `days`'
/// slots (locks are filed by the UTC date their slot starts on).
pub fn day_documents(days: &[Day]) -> BTreeSet<Date> {
    days.iter()
        .flat_map(|day| &day.slots)
        .flat_map(days_overlapping)
        .collect()
}

/// The locks held, by table and then by start. The locks of one table never overlap each
/// other, so the only one that can overlap a slot is the last one starting before the
/// slot ends: each (slot, table) is one ordered-map lookup, whatever the number of locks.
#[derive(Debug, Default)]
pub struct Held<'a> {
    index: HashMap<&'a TableId, BTreeMap<Timestamp, Timestamp>>,
}

impl<'a> Held<'a> {
    /// `held`: the locks as (table, slot) pairs.
    pub fn new(held: impl IntoIterator<Item = (&'a TableId, TimeSlot)>) -> Self {
        let mut index: HashMap<&TableId, BTreeMap<Timestamp, Timestamp>> = HashMap::new();
        for (table, slot) in held {
            index
                .entry(table)
                .or_default()
                .insert(slot.from(), slot.to());
        }
        Self { index }
    }

    /// Whether `table` holds no lock overlapping `slot`.
    pub fn is_free(&self, table: &TableId, slot: &TimeSlot) -> bool {
        self.index.get(table).is_none_or(|locks| {
            locks
                .range(..slot.to())
                .next_back()
                .is_none_or(|(_, ends)| *ends <= slot.from())
        })
    }
}

/// Where `people` can sit in `slot`, in the order the restaurant gives places (API.md):
/// single tables that seat them, smallest first, then combinations that seat them,
/// smallest first, ties by id. A table not removed, free in the slot and not in `taken`
/// is usable; a combination when it is not removed and every one of its tables is.
pub fn places(
    tables: &TablesView,
    held: &Held<'_>,
    slot: &TimeSlot,
    people: PartySize,
    taken: &BTreeSet<TableId>,
) -> Vec<Place> {
    let usable = |id: &TableId| {
        tables.tables.get(id).is_some_and(|t| !t.removed)
            && !taken.contains(id)
            && held.is_free(id, slot)
    };
    let mut singles: Vec<Place> = tables
        .tables
        .iter()
        .filter(|(id, table)| table.seats >= people.get() && usable(id))
        .map(|(id, table)| Place {
            tables: vec![id.clone()],
            combination: None,
            seats: table.seats,
        })
        .collect();
    singles.sort_by(|a, b| (a.seats, &a.tables).cmp(&(b.seats, &b.tables)));
    let mut joined: Vec<Place> = tables
        .combinations
        .iter()
        .filter(|(_, c)| !c.removed && c.seats >= people.get() && c.tables.iter().all(usable))
        .map(|(id, c)| Place {
            tables: c.tables.clone(),
            combination: Some(id.clone()),
            seats: c.seats,
        })
        .collect();
    joined.sort_by(|a, b| (a.seats, &a.combination).cmp(&(b.seats, &b.combination)));
    singles.extend(joined);
    singles
}

/// For each day, the slots where a table or a combination is free for `people`, with
/// those tables and combinations (each sorted by id).
pub fn availability(
    days: &[Day],
    tables: &TablesView,
    held: &Held<'_>,
    people: PartySize,
) -> Vec<DayAvailability> {
    let none = BTreeSet::new();
    days.iter()
        .map(|day| DayAvailability {
            date: day.date,
            slots: day
                .slots
                .iter()
                .filter_map(|slot| {
                    let mut free = FreeSlot {
                        slot: *slot,
                        tables: Vec::new(),
                        combinations: Vec::new(),
                    };
                    for place in places(tables, held, slot, people, &none) {
                        match place.combination {
                            None => free.tables.extend(place.tables),
                            Some(id) => free.combinations.push(FreeCombination {
                                id,
                                tables: place.tables,
                                seats: place.seats,
                            }),
                        }
                    }
                    free.tables.sort();
                    free.combinations.sort_by(|a, b| a.id.cmp(&b.id));
                    let listed = !free.tables.is_empty() || !free.combinations.is_empty();
                    listed.then_some(free)
                })
                .collect(),
        })
        .collect()
}

/// Most alternatives a refusal offers (API.md).
pub const MAX_ALTERNATIVES: usize = 5;
/// How many days before and after the day asked for alternatives come from.
pub const ALTERNATIVE_DAYS: i64 = 3;

/// Somewhere else the party fits: a slot and the place it would be given there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alternative {
    pub slot: TimeSlot,
    pub tables: Vec<TableId>,
}

/// Where `people` fit instead of `asked` (API.md): the slots of `days` other than the one
/// asked for, nearest first (the same day's first, then the other days' by how far
/// they start from it), each with the place the restaurant would give there; at most
/// [`MAX_ALTERNATIVES`].
pub fn alternatives(
    asked: &TimeSlot,
    asked_day: Date,
    days: &[Day],
    tables: &TablesView,
    held: &Held<'_>,
    people: PartySize,
) -> Vec<Alternative> {
    let mut slots: Vec<(bool, jiff::SignedDuration, Timestamp, TimeSlot)> = days
        .iter()
        .flat_map(|day| day.slots.iter().map(move |slot| (day.date, *slot)))
        .filter(|(_, slot)| slot != asked)
        .map(|(date, slot)| {
            let distance = slot.from().duration_since(asked.from()).abs();
            (date != asked_day, distance, slot.from(), slot)
        })
        .collect();
    slots.sort_by_key(|(other_day, distance, from, _)| (*other_day, *distance, *from));
    let none = BTreeSet::new();
    slots
        .into_iter()
        .filter_map(|(.., slot)| {
            let place = places(tables, held, &slot, people, &none)
                .into_iter()
                .next()?;
            Some(Alternative {
                slot,
                tables: place.tables,
            })
        })
        .take(MAX_ALTERNATIVES)
        .collect()
}

#[cfg(test)]
mod tests;
