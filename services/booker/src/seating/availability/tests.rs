//! Tests of availability and assignment, without I/O.

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

fn held(locks: &[(TableId, TimeSlot)]) -> Held<'_> {
    Held::new(locks.iter().map(|(table, slot)| (table, *slot)))
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
    let offered = availability(&christmas_eve(), &tables, &Held::default(), people(2));
    assert_eq!(
        free(&offered),
        [(lunch(), vec!["t1", "t2"]), (dinner(), vec!["t1", "t2"])]
    );
}

#[test]
fn given_a_lock_on_dinner_when_asking_then_the_table_is_offered_for_lunch_only() {
    let tables = tables(&[("t1", 4, false), ("t2", 4, false)]);
    let locks = [lock("t1", dinner())];
    let offered = availability(&christmas_eve(), &tables, &held(&locks), people(2));
    assert_eq!(
        free(&offered),
        [(lunch(), vec!["t1", "t2"]), (dinner(), vec!["t2"])]
    );
}

#[test]
fn given_every_table_locked_in_a_slot_when_asking_then_the_slot_is_left_out_but_the_day_stays() {
    let tables = tables(&[("t1", 4, false)]);
    let locks = [lock("t1", dinner())];
    let offered = availability(&christmas_eve(), &tables, &held(&locks), people(2));
    assert_eq!(offered.len(), 1, "the day is listed");
    assert_eq!(free(&offered), [(lunch(), vec!["t1"])]);
}

#[test]
fn given_small_and_removed_tables_when_a_party_of_four_asks_then_neither_is_offered() {
    let tables = tables(&[("small", 2, false), ("gone", 8, true), ("big", 6, false)]);
    let offered = availability(&christmas_eve(), &tables, &Held::default(), people(4));
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
    let offered = availability(&christmas_eve(), &tables, &held(&locks), people(2));
    assert_eq!(free(&offered), [(lunch(), vec!["t1"])]);
}

#[test]
fn given_a_lock_that_ends_as_the_slot_starts_when_asking_then_the_table_is_free() {
    let tables = tables(&[("t1", 4, false)]);
    let locks = [lock(
        "t1",
        slot("2026-12-24T16:00:00Z", "2026-12-24T18:00:00Z"),
    )];
    let offered = availability(&christmas_eve(), &tables, &held(&locks), people(2));
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
    let offered = availability(&days, &tables, &held(&locks), people(2));
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

fn with_combinations(mut view: TablesView, list: &[(&str, &[&str], u8, bool)]) -> TablesView {
    for (raw, tables, seats, removed) in list {
        view.combinations.insert(
            CombinationId::parse(raw).expect("id"),
            events::read_model::CombinationView {
                tables: tables.iter().map(|t| id(t)).collect(),
                seats: *seats,
                removed: *removed,
                sequence: 1,
            },
        );
    }
    view
}

fn combinations(availability: &[DayAvailability]) -> Vec<(TimeSlot, Vec<&str>)> {
    availability
        .iter()
        .flat_map(|day| &day.slots)
        .map(|free| {
            let ids = free.combinations.iter().map(|c| c.id.as_str()).collect();
            (free.slot, ids)
        })
        .collect()
}

#[test]
fn given_combinations_when_a_large_party_asks_then_those_whose_tables_are_all_free_are_offered() {
    let view = with_combinations(
        tables(&[("t1", 4, false), ("t2", 4, false), ("t3", 4, false)]),
        &[
            ("c2", &["t2", "t3"], 7, false),
            ("c1", &["t1", "t2"], 6, false),
            ("small", &["t1", "t3"], 5, false),
            ("gone", &["t1", "t3"], 8, true),
        ],
    );
    let locks = [lock("t3", dinner())];
    let offered = availability(&christmas_eve(), &view, &held(&locks), people(6));
    assert_eq!(
        combinations(&offered),
        [(lunch(), vec!["c1", "c2"]), (dinner(), vec!["c1"])]
    );
    assert_eq!(free(&offered), [(lunch(), vec![]), (dinner(), vec![])]);
}

#[test]
fn given_a_combination_with_a_removed_table_when_asking_then_it_is_never_offered() {
    let view = with_combinations(
        tables(&[("t1", 4, false), ("t2", 4, true)]),
        &[("c1", &["t1", "t2"], 6, false)],
    );
    let offered = availability(&christmas_eve(), &view, &Held::default(), people(6));
    assert_eq!(offered[0].slots, []);
}

#[test]
fn the_restaurant_gives_the_smallest_free_table_then_the_smallest_free_combination_ties_by_id() {
    let view = with_combinations(
        tables(&[
            ("b", 6, false),
            ("a", 6, false),
            ("c", 4, false),
            ("d", 8, false),
            ("e", 2, false),
        ]),
        &[
            ("z", &["c", "e"], 6, false),
            ("y", &["a", "b"], 10, false),
            ("x", &["c", "d"], 6, false),
        ],
    );
    let locks = [lock("b", dinner())];
    let order = |taken: &[&str]| -> Vec<Vec<String>> {
        let taken = taken.iter().map(|t| id(t)).collect();
        places(&view, &held(&locks), &dinner(), people(5), &taken)
            .into_iter()
            .map(|p| match p.combination {
                Some(c) => vec![format!("combination {c}")],
                None => p.tables.iter().map(|t| t.to_string()).collect(),
            })
            .collect()
    };
    assert_eq!(
        order(&[]),
        [
            vec!["a".to_owned()],
            vec!["d".to_owned()],
            vec!["combination x".to_owned()],
            vec!["combination z".to_owned()],
        ],
        "b is locked, so is y with it; c and e are too small alone"
    );
    // Tables another request of this booker holds for the slot are not given twice.
    assert_eq!(order(&["a", "c"]), [vec!["d".to_owned()]], "x and z need c");
}

#[test]
fn alternatives_come_from_the_same_day_first_then_the_nearest_days_and_skip_full_slots() {
    let view = tables(&[("t1", 4, false), ("t2", 2, false)]);
    let shift = |slot: TimeSlot, days: i64| {
        let by = jiff::SignedDuration::from_hours(24 * days);
        TimeSlot::new(slot.from() + by, slot.to() + by).expect("slot")
    };
    let days: Vec<Day> = (-3..=3_i64)
        .map(|n| Day {
            date: Date::constant(2026, 12, 24)
                .checked_add(jiff::Span::new().days(n))
                .expect("date"),
            slots: vec![shift(lunch(), n), shift(dinner(), n)],
        })
        .collect();
    // t1 (the only table for four) is taken at lunch on the 24th and at dinner on the 25th.
    let locks = [lock("t1", lunch()), lock("t1", shift(dinner(), 1))];
    let found = alternatives(
        &dinner(),
        Date::constant(2026, 12, 24),
        &days,
        &view,
        &held(&locks),
        people(4),
    );
    let slots: Vec<TimeSlot> = found.iter().map(|a| a.slot).collect();
    assert_eq!(
        slots,
        [
            // The 24th's lunch is full; then by how far from the 24th's dinner (17 h,
            // 24 h, 31 h, 41 h, then 48 h both ways: the earlier first).
            shift(lunch(), 1),
            shift(dinner(), -1),
            shift(lunch(), -1),
            shift(lunch(), 2),
            shift(dinner(), -2),
        ]
    );
    assert!(found.iter().all(|a| a.tables == [id("t1")]));
}

#[test]
fn given_no_other_slot_that_fits_then_there_is_no_alternative() {
    let view = tables(&[("t1", 2, false)]);
    let found = alternatives(
        &dinner(),
        Date::constant(2026, 12, 24),
        &christmas_eve(),
        &view,
        &Held::default(),
        people(4),
    );
    assert_eq!(found, []);
}
