//! Which tables are free in which slots: a pure function of the slots asked for, the
//! tables and the locks of the read model, unit-tested without I/O.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use events::read_model::{TablesView, days_overlapping};
use events::{PartySize, TableId, TimeSlot};
use jiff::Timestamp;
use jiff::civil::Date;

/// One local day of the range asked for, with its bookable slots.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Day {
    pub date: Date,
    pub slots: Vec<TimeSlot>,
}

/// One slot with a free table for the party.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FreeSlot {
    pub slot: TimeSlot,
    /// Sorted by id.
    pub tables: Vec<TableId>,
}

/// What one day offers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayAvailability {
    pub date: Date,
    /// Only the slots with at least one free table.
    pub slots: Vec<FreeSlot>,
}

/// The dates of the day documents that hold every lock that can overlap one of `days`'
/// slots (locks are filed by the UTC date their slot starts on).
pub fn day_documents(days: &[Day]) -> BTreeSet<Date> {
    days.iter()
        .flat_map(|day| &day.slots)
        .flat_map(days_overlapping)
        .collect()
}

/// For each day, the slots where a table that is not removed, seats `people` and holds
/// no lock overlapping the slot is free, with those tables. `held` are the locks as
/// (table, slot) pairs.
///
/// The locks are indexed by table and then by start: the locks of one table never
/// overlap each other, so the only one that can overlap a slot is the last one starting
/// before the slot ends. Each (slot, table) is one ordered-map lookup, whatever the
/// number of locks.
pub fn availability<'a>(
    days: &[Day],
    tables: &TablesView,
    held: impl IntoIterator<Item = (&'a TableId, TimeSlot)>,
    people: PartySize,
) -> Vec<DayAvailability> {
    let mut index: HashMap<&TableId, BTreeMap<Timestamp, Timestamp>> = HashMap::new();
    for (table, slot) in held {
        index
            .entry(table)
            .or_default()
            .insert(slot.from(), slot.to());
    }
    let is_free = |table: &TableId, slot: &TimeSlot| {
        index.get(table).is_none_or(|locks| {
            locks
                .range(..slot.to())
                .next_back()
                .is_none_or(|(_, ends)| *ends <= slot.from())
        })
    };
    // BTreeMap order: sorted by id.
    let seated: Vec<&TableId> = tables
        .tables
        .iter()
        .filter(|(_, table)| !table.removed && table.seats >= people.get())
        .map(|(id, _)| id)
        .collect();
    days.iter()
        .map(|day| DayAvailability {
            date: day.date,
            slots: day
                .slots
                .iter()
                .filter_map(|slot| {
                    let free: Vec<TableId> = seated
                        .iter()
                        .filter(|id| is_free(id, slot))
                        .map(|id| (*id).clone())
                        .collect();
                    (!free.is_empty()).then_some(FreeSlot {
                        slot: *slot,
                        tables: free,
                    })
                })
                .collect(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use events::read_model::{TableView, day_of};

    use super::*;

    fn slot(from: &str, to: &str) -> TimeSlot {
        TimeSlot::new(from.parse().expect("from"), to.parse().expect("to")).expect("slot")
    }

    fn lunch() -> TimeSlot {
        slot("2026-12-24T11:00:00Z", "2026-12-24T13:00:00Z")
    }

    fn dinner() -> TimeSlot {
        slot("2026-12-24T18:00:00Z", "2026-12-24T20:00:00Z")
    }

    fn christmas_eve() -> Vec<Day> {
        vec![Day {
            date: Date::constant(2026, 12, 24),
            slots: vec![lunch(), dinner()],
        }]
    }

    fn id(raw: &str) -> TableId {
        TableId::parse(raw).expect("id")
    }

    fn tables(list: &[(&str, u8, bool)]) -> TablesView {
        TablesView {
            tables: list
                .iter()
                .map(|(raw, seats, removed)| {
                    let view = TableView {
                        seats: *seats,
                        removed: *removed,
                        sequence: 1,
                    };
                    (id(raw), view)
                })
                .collect(),
            ..TablesView::default()
        }
    }

    fn lock(table: &str, time_slot: TimeSlot) -> (TableId, TimeSlot) {
        (id(table), time_slot)
    }

    fn held(locks: &[(TableId, TimeSlot)]) -> impl Iterator<Item = (&TableId, TimeSlot)> {
        locks.iter().map(|(table, slot)| (table, *slot))
    }

    fn people(n: u64) -> PartySize {
        PartySize::new(n).expect("people")
    }

    fn free(availability: &[DayAvailability]) -> Vec<(TimeSlot, Vec<&str>)> {
        availability
            .iter()
            .flat_map(|day| &day.slots)
            .map(|free| (free.slot, free.tables.iter().map(TableId::as_str).collect()))
            .collect()
    }

    #[test]
    fn given_two_free_tables_when_asking_then_both_are_offered_in_every_slot_sorted_by_id() {
        let tables = tables(&[("t2", 4, false), ("t1", 4, false)]);
        let offered = availability(&christmas_eve(), &tables, [], people(2));
        assert_eq!(
            free(&offered),
            [(lunch(), vec!["t1", "t2"]), (dinner(), vec!["t1", "t2"])]
        );
    }

    #[test]
    fn given_a_lock_on_dinner_when_asking_then_the_table_is_offered_for_lunch_only() {
        let tables = tables(&[("t1", 4, false), ("t2", 4, false)]);
        let locks = [lock("t1", dinner())];
        let offered = availability(&christmas_eve(), &tables, held(&locks), people(2));
        assert_eq!(
            free(&offered),
            [(lunch(), vec!["t1", "t2"]), (dinner(), vec!["t2"])]
        );
    }

    #[test]
    fn given_every_table_locked_in_a_slot_when_asking_then_the_slot_is_left_out_but_the_day_stays()
    {
        let tables = tables(&[("t1", 4, false)]);
        let locks = [lock("t1", dinner())];
        let offered = availability(&christmas_eve(), &tables, held(&locks), people(2));
        assert_eq!(offered.len(), 1, "the day is listed");
        assert_eq!(free(&offered), [(lunch(), vec!["t1"])]);
    }

    #[test]
    fn given_small_and_removed_tables_when_a_party_of_four_asks_then_neither_is_offered() {
        let tables = tables(&[("small", 2, false), ("gone", 8, true), ("big", 6, false)]);
        let offered = availability(&christmas_eve(), &tables, [], people(4));
        assert_eq!(
            free(&offered),
            [(lunch(), vec!["big"]), (dinner(), vec!["big"])]
        );
    }

    #[test]
    fn given_a_lock_of_an_overlapping_but_different_slot_when_asking_then_the_table_is_taken() {
        let tables = tables(&[("t1", 4, false)]);
        let locks = [lock(
            "t1",
            slot("2026-12-24T19:00:00Z", "2026-12-24T21:00:00Z"),
        )];
        let offered = availability(&christmas_eve(), &tables, held(&locks), people(2));
        assert_eq!(free(&offered), [(lunch(), vec!["t1"])]);
    }

    #[test]
    fn given_a_lock_that_ends_as_the_slot_starts_when_asking_then_the_table_is_free() {
        let tables = tables(&[("t1", 4, false)]);
        let locks = [lock(
            "t1",
            slot("2026-12-24T16:00:00Z", "2026-12-24T18:00:00Z"),
        )];
        let offered = availability(&christmas_eve(), &tables, held(&locks), people(2));
        assert_eq!(
            free(&offered),
            [(lunch(), vec!["t1"]), (dinner(), vec!["t1"])]
        );
    }

    #[test]
    fn given_a_table_booked_in_every_slot_of_a_fortnight_but_one_when_asking_then_only_that_one_is_offered()
     {
        let tables = tables(&[("t1", 4, false)]);
        let mut days = Vec::new();
        let mut locks = Vec::new();
        let free_one = (7, 1);
        for day in 0..15_i64 {
            let shift = jiff::SignedDuration::from_hours(24 * day);
            let slots = vec![lunch(), dinner()]
                .into_iter()
                .map(|s| TimeSlot::new(s.from() + shift, s.to() + shift).expect("slot"))
                .collect::<Vec<_>>();
            for (n, slot) in slots.iter().enumerate() {
                if (day, n) != free_one {
                    locks.push(lock("t1", *slot));
                }
            }
            days.push(Day {
                date: day_of(&slots[0]),
                slots,
            });
        }
        let offered = availability(&days, &tables, held(&locks), people(2));
        let shift = jiff::SignedDuration::from_hours(24 * 7);
        let expected = TimeSlot::new(dinner().from() + shift, dinner().to() + shift).expect("slot");
        assert_eq!(free(&offered), [(expected, vec!["t1"])]);
        assert_eq!(offered.len(), 15);
    }

    #[test]
    fn given_slots_of_a_day_when_choosing_day_documents_then_each_lock_that_can_overlap_is_read() {
        let days = christmas_eve();
        let documents = day_documents(&days);
        for slot in [lunch(), dinner()] {
            assert!(documents.contains(&day_of(&slot)));
        }
        // A slot from 23:00 to 01:00 UTC the evening before is filed the day before.
        assert!(documents.contains(&Date::constant(2026, 12, 23)));
    }
}
