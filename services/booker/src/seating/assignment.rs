//! Giving a party a place when it books without a table (API.md v2, ADR 0027): the
//! smallest free single table that seats it, else the smallest free combination, ties by
//! id, from the read side's floor. Requests that arrive together must not all be given
//! the same table and fail: each place given is claimed in this booker until the booking
//! is decided (or its claim expires), and the next request is given the next place. A
//! claim names tables of one slot that a booking of its own holds or is about to hold, so
//! there are never more claims than tables times slots.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use domain::NextPlace;
use events::read_model::days_overlapping;
use events::{BookingId, PartySize, TableId, TimeSlot};

use crate::adapters::reads::ReadModels;
use crate::saga::Seating;
use crate::seating::availability::{Place, places};
use crate::seating::floor::Floor;

/// Places given and not yet known to be decided.
#[derive(Debug)]
pub struct Claims {
    held: Mutex<Vec<Claim>>,
    /// How long a claim stands at most: the booking is decided by then, and the read side
    /// has long shown a lock it got.
    hold: Duration,
}

#[derive(Debug)]
struct Claim {
    booking: BookingId,
    slot: TimeSlot,
    tables: Vec<TableId>,
    until: Instant,
}

impl Claims {
    pub fn new(hold: Duration) -> Self {
        Self {
            held: Mutex::new(Vec::new()),
            hold,
        }
    }

    /// The place for `people` in `slot` given to `booking`, claimed at once: the first of
    /// [`places`] on `floor` whose tables no other claim holds in an overlapping slot.
    /// `None` when nothing fits. `excluded`: tables not to give it anyway.
    pub fn give(
        &self,
        booking: BookingId,
        floor: &Floor,
        slot: TimeSlot,
        people: PartySize,
        excluded: &BTreeSet<TableId>,
        now: Instant,
    ) -> Option<Place> {
        let mut held = self
            .held
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        held.retain(|claim| claim.until > now && claim.booking != booking);
        let mut taken: BTreeSet<TableId> = held
            .iter()
            .filter(|claim| claim.slot.overlaps(&slot))
            .flat_map(|claim| claim.tables.iter().cloned())
            .collect();
        taken.extend(excluded.iter().cloned());
        let place = places(&floor.tables, &floor.held(), &slot, people, &taken)
            .into_iter()
            .next()?;
        held.push(Claim {
            booking,
            slot,
            tables: place.tables.clone(),
            until: now + self.hold,
        });
        Some(place)
    }

    /// The booking holds no table (rejected, cancelled, or it is a retry that found the
    /// booking already made with other tables): its claim goes.
    pub fn release(&self, booking: BookingId) {
        let mut held = self
            .held
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        held.retain(|claim| claim.booking != booking);
    }

    /// A guard over the claim of `booking` while it is being written: every path that
    /// does not [`keep`](ClaimGuard::keep) it (a failed append, a retry that found other
    /// tables) lets the claim go when the guard drops.
    pub fn guard(&self, booking: BookingId) -> ClaimGuard<'_> {
        ClaimGuard {
            claims: self,
            booking,
            kept: false,
        }
    }

    /// How many claims stand.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.held
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .len()
    }
}

/// The claim of a booking being written; released on drop unless kept.
#[derive(Debug)]
#[must_use = "dropping the guard releases the claim at once"]
pub struct ClaimGuard<'a> {
    claims: &'a Claims,
    booking: BookingId,
    kept: bool,
}

impl ClaimGuard<'_> {
    /// The booking was written holding the place given: the claim stands until the
    /// booking is decided or the claim expires.
    pub fn keep(mut self) {
        self.kept = true;
    }
}

impl Drop for ClaimGuard<'_> {
    fn drop(&mut self) {
        if !self.kept {
            self.claims.release(self.booking);
        }
    }
}

/// The service's [`Seating`]: the read side's floor and this booker's claims.
#[derive(Debug)]
pub struct FloorSeating {
    pub reads: Arc<ReadModels>,
    pub claims: Arc<Claims>,
}

impl Seating for FloorSeating {
    async fn next_place(
        &self,
        booking: BookingId,
        slot: TimeSlot,
        people: PartySize,
        excluded: &BTreeSet<TableId>,
    ) -> anyhow::Result<NextPlace> {
        let floor = Floor::read_dates(&self.reads, days_overlapping(&slot).collect()).await?;
        let given = self
            .claims
            .give(booking, &floor, slot, people, excluded, Instant::now());
        Ok(match given {
            Some(place) => NextPlace::Place {
                tables: place.tables,
                combination: place.combination,
            },
            None => NextPlace::Nothing,
        })
    }
}

#[cfg(test)]
mod tests {
    use events::read_model::{TableView, TablesView};

    use super::*;

    fn table(raw: &str) -> TableId {
        TableId::parse(raw).expect("table id")
    }

    fn dinner() -> TimeSlot {
        let from = "2026-12-24T18:00:00Z".parse().expect("from");
        TimeSlot::new(from, "2026-12-24T20:00:00Z".parse().expect("to")).expect("slot")
    }

    fn lunch() -> TimeSlot {
        let from = "2026-12-24T11:00:00Z".parse().expect("from");
        TimeSlot::new(from, "2026-12-24T13:00:00Z".parse().expect("to")).expect("slot")
    }

    fn floor(list: &[(&str, u8)]) -> Floor {
        let mut tables = TablesView::default();
        for (raw, seats) in list {
            let view = TableView {
                seats: *seats,
                removed: false,
                sequence: 1,
            };
            tables.tables.insert(table(raw), view);
        }
        Floor {
            tables,
            locks: Vec::new(),
        }
    }

    fn people(n: u64) -> PartySize {
        PartySize::new(n).expect("people")
    }

    fn give_one(claims: &Claims, floor: &Floor, slot: TimeSlot, now: Instant) -> Option<String> {
        claims
            .give(
                BookingId::new(),
                floor,
                slot,
                people(2),
                &BTreeSet::new(),
                now,
            )
            .map(|place| place.tables[0].to_string())
    }

    #[test]
    fn given_requests_for_one_slot_at_once_then_each_is_given_another_table_until_none_is_left() {
        let claims = Claims::new(Duration::from_secs(40));
        let floor = floor(&[("t1", 2), ("t2", 4), ("t3", 2)]);
        let now = Instant::now();
        let given: Vec<Option<String>> = (0..4)
            .map(|_| give_one(&claims, &floor, dinner(), now))
            .collect();
        assert_eq!(
            given,
            [
                Some("t1".to_owned()),
                Some("t3".to_owned()),
                Some("t2".to_owned()),
                None
            ]
        );
        // Another slot is another matter.
        assert_eq!(
            give_one(&claims, &floor, lunch(), now),
            Some("t1".to_owned())
        );
    }

    #[test]
    fn given_a_claim_when_its_booking_is_released_or_it_expires_then_its_table_is_given_again() {
        let claims = Claims::new(Duration::from_secs(40));
        let floor = floor(&[("t1", 2)]);
        let now = Instant::now();
        let booking = BookingId::new();
        assert!(
            claims
                .give(booking, &floor, dinner(), people(2), &BTreeSet::new(), now)
                .is_some()
        );
        assert_eq!(give_one(&claims, &floor, dinner(), now), None);
        claims.release(booking);
        assert_eq!(
            give_one(&claims, &floor, dinner(), now),
            Some("t1".to_owned())
        );
        let later = now + Duration::from_secs(41);
        assert_eq!(
            give_one(&claims, &floor, dinner(), later),
            Some("t1".to_owned())
        );
        assert_eq!(claims.len(), 1, "expired claims go");
    }
}
