//! Where a change takes a booking (API.md v2, "Changing a booking"; ADR 0029): the table
//! asked for; else the booking's own tables when they are free in the new slot and seat
//! the new party; else a place the restaurant picks for the party. Pure: computed from the
//! read side's floor, with the booking's own locks already left out of it.

use events::read_model::TablesView;
use events::{BookingPlace, CombinationId, PartySize, RejectionReason, TableId, TimeSlot};

use crate::seating::availability::Held;

/// Where the booking goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// These tables (sorted): kept, or the one asked for.
    Tables {
        tables: Vec<TableId>,
        combination: Option<CombinationId>,
    },
    /// A place the restaurant picks for the party, as for a new booking.
    Pick(PartySize),
}

/// Where a booking at `current` goes when moved to `slot` for `people` (`None`: a table
/// booked without a party size), to `table` when one is asked for. A refusal's reason
/// when the read side already shows it cannot be done.
pub fn destination(
    floor: &TablesView,
    held: &Held<'_>,
    current: &BookingPlace,
    (slot, people): (TimeSlot, Option<PartySize>),
    table: Option<&TableId>,
) -> Result<Destination, RejectionReason> {
    if let Some(table) = table {
        // A table the read side does not know yet is left to table-manager to decide.
        if let Some(known) = floor.tables.get(table) {
            if known.removed {
                return Err(RejectionReason::TableRemoved);
            }
            if people.is_some_and(|p| p.get() > known.seats) {
                return Err(RejectionReason::TooSmall);
            }
            if !held.is_free(table, &slot) {
                return Err(RejectionReason::SlotTaken);
            }
        }
        return Ok(Destination::Tables {
            tables: vec![table.clone()],
            combination: None,
        });
    }
    let usable = current
        .table_ids
        .iter()
        .all(|t| floor.tables.get(t).is_some_and(|view| !view.removed) && held.is_free(t, &slot));
    let seats = seats_of(floor, current);
    let fits = people.is_none_or(|p| seats.is_some_and(|seats| p.get() <= seats));
    match people {
        _ if usable && fits => Ok(Destination::Tables {
            tables: current.table_ids.clone(),
            combination: current.combination_id.clone(),
        }),
        Some(people) => Ok(Destination::Pick(people)),
        // No party to fit another place to: the tables it has or nothing.
        None => Err(RejectionReason::SlotTaken),
    }
}

/// How many the place seats: its table's seats, or its combination's.
fn seats_of(floor: &TablesView, place: &BookingPlace) -> Option<u8> {
    if let [table] = place.table_ids.as_slice() {
        return floor.tables.get(table).map(|t| t.seats);
    }
    let declared = place
        .combination_id
        .as_ref()
        .and_then(|id| floor.combinations.get(id));
    declared
        .into_iter()
        .chain(floor.combinations.values())
        .find(|c| !c.removed && c.tables == place.table_ids)
        .map(|c| c.seats)
}

#[cfg(test)]
mod tests {
    use events::fixtures::{dinner, lunch, people, place_at};
    use events::read_model::{CombinationView, TableView};

    use super::*;

    fn table(raw: &str) -> TableId {
        TableId::parse(raw).expect("table id")
    }

    /// t1 and t2 seat 2, t3 seats 6; c12 joins t1 and t2 for 4.
    fn floor() -> TablesView {
        let mut floor = TablesView::default();
        for (id, seats) in [("t1", 2), ("t2", 2), ("t3", 6)] {
            let view = TableView {
                seats,
                removed: false,
                sequence: 1,
            };
            floor.tables.insert(table(id), view);
        }
        let c12 = CombinationView {
            tables: vec![table("t1"), table("t2")],
            seats: 4,
            removed: false,
            sequence: 2,
        };
        floor
            .combinations
            .insert(CombinationId::parse("c12").expect("id"), c12);
        floor
    }

    fn kept(tables: &[&str]) -> Result<Destination, RejectionReason> {
        Ok(Destination::Tables {
            tables: tables.iter().map(|t| table(t)).collect(),
            combination: None,
        })
    }

    #[test]
    fn given_its_table_free_at_lunch_when_the_booking_moves_there_then_it_keeps_it() {
        let held = Held::default();
        let current = place_at(dinner(), &["t1"], 2);
        let to = (lunch(), Some(people(2)));
        assert_eq!(
            destination(&floor(), &held, &current, to, None),
            kept(&["t1"])
        );
    }

    #[test]
    fn given_its_table_taken_at_lunch_when_the_booking_moves_there_then_the_restaurant_picks() {
        let t1 = table("t1");
        let held = Held::new([(&t1, lunch())]);
        let current = place_at(dinner(), &["t1"], 2);
        let to = (lunch(), Some(people(2)));
        assert_eq!(
            destination(&floor(), &held, &current, to, None),
            Ok(Destination::Pick(people(2)))
        );
        // A table booked without a party: nothing to fit another place to.
        let mut without_party = current.clone();
        without_party.people = None;
        assert_eq!(
            destination(&floor(), &held, &without_party, (lunch(), None), None),
            Err(RejectionReason::SlotTaken)
        );
    }

    #[test]
    fn given_a_larger_party_when_its_table_is_too_small_then_the_restaurant_picks_and_a_combination_that_seats_it_is_kept()
     {
        let held = Held::default();
        let current = place_at(dinner(), &["t1"], 2);
        let to = (dinner(), Some(people(4)));
        assert_eq!(
            destination(&floor(), &held, &current, to, None),
            Ok(Destination::Pick(people(4)))
        );
        let joined = place_at(dinner(), &["t1", "t2"], 3);
        assert_eq!(
            destination(&floor(), &held, &joined, to, None),
            kept(&["t1", "t2"])
        );
    }

    #[test]
    fn given_a_table_asked_for_when_the_read_side_shows_it_cannot_be_had_then_the_reason_is_given()
    {
        let t3 = table("t3");
        let held = Held::new([(&t3, lunch())]);
        let current = place_at(dinner(), &["t1"], 2);
        let mut removed = floor();
        if let Some(view) = removed.tables.get_mut(&t3) {
            view.removed = true;
        }
        let asked = Some(&t3);
        let at_lunch = (lunch(), Some(people(2)));
        let at_dinner = (dinner(), Some(people(2)));
        assert_eq!(
            destination(&floor(), &held, &current, at_lunch, asked),
            Err(RejectionReason::SlotTaken)
        );
        assert_eq!(
            destination(&removed, &held, &current, at_dinner, asked),
            Err(RejectionReason::TableRemoved)
        );
        let t1 = table("t1");
        assert_eq!(
            destination(
                &floor(),
                &held,
                &current,
                (dinner(), Some(people(3))),
                Some(&t1)
            ),
            Err(RejectionReason::TooSmall)
        );
        assert_eq!(
            destination(&floor(), &held, &current, at_dinner, asked),
            kept(&["t3"])
        );
        // Not known to the read side yet: table-manager decides.
        let unknown = table("t9");
        assert_eq!(
            destination(&floor(), &held, &current, at_dinner, Some(&unknown)),
            kept(&["t9"])
        );
    }
}
