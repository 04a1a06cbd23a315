//! Which lock decisions a table remembers: for each booking, the slots (by their end) a
//! lock was placed, refused or released for. A booking may be decided for several slots
//! (a change moves it); a redelivered request for a decided (booking, slot) changes
//! nothing.
//!
//! Snapshots written before a booking could hold two slots keep one end per booking; they
//! are read as a list of one.

use std::collections::HashMap;

use events::{BookingId, TimeSlot};
use jiff::Timestamp;
use serde::{Deserialize, Deserializer, Serialize};

/// The decisions, by booking.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Decisions(HashMap<BookingId, Ends>);

/// The ends of the slots decided for one booking.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
struct Ends(Vec<Timestamp>);

impl<'de> Deserialize<'de> for Ends {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Stored {
            One(Timestamp),
            Many(Vec<Timestamp>),
        }
        Ok(match Stored::deserialize(deserializer)? {
            Stored::One(end) => Self(vec![end]),
            Stored::Many(ends) => Self(ends),
        })
    }
}

impl Decisions {
    /// Whether a decision was recorded for `booking` in `slot`.
    pub fn contains(&self, booking: BookingId, slot: &TimeSlot) -> bool {
        self.0
            .get(&booking)
            .is_some_and(|ends| ends.0.contains(&slot.to()))
    }

    /// Records a decision for `booking` in `slot`.
    pub fn record(&mut self, booking: BookingId, slot: &TimeSlot) {
        let ends = &mut self.0.entry(booking).or_default().0;
        if !ends.contains(&slot.to()) {
            ends.push(slot.to());
        }
    }

    /// Forgets the slots that ended by `now`.
    pub fn prune(&mut self, now: Timestamp) {
        self.0.retain(|_, ends| {
            ends.0.retain(|end| *end > now);
            !ends.0.is_empty()
        });
    }

    /// How many (booking, slot) decisions are remembered.
    pub fn count(&self) -> usize {
        self.0.values().map(|ends| ends.0.len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use events::fixtures::{dinner, lunch, ts};

    use super::*;

    #[test]
    fn a_booking_is_decided_per_slot() {
        let booking = BookingId::new();
        let mut decisions = Decisions::default();
        decisions.record(booking, &dinner());
        decisions.record(booking, &dinner());
        assert!(decisions.contains(booking, &dinner()));
        assert!(!decisions.contains(booking, &lunch()));
        assert!(!decisions.contains(BookingId::new(), &dinner()));
        decisions.record(booking, &lunch());
        assert_eq!(decisions.count(), 2);
        decisions.prune(ts("2026-12-24T13:00:00Z"));
        assert_eq!(decisions.count(), 1, "lunch has ended");
        decisions.prune(ts("2026-12-24T20:00:00Z"));
        assert_eq!(decisions.count(), 0);
    }

    #[test]
    fn decisions_of_a_snapshot_of_an_earlier_release_are_read_as_one_slot_each() {
        let booking = BookingId::parse("0193f0b4-7c1e-7000-8000-000000000001").expect("id");
        let earlier = serde_json::json!({ booking.to_string(): "2026-12-24T20:00:00Z" });
        let decisions: Decisions = serde_json::from_value(earlier).expect("read");
        assert!(decisions.contains(booking, &dinner()));
        let written = serde_json::to_value(&decisions).expect("write");
        assert_eq!(
            written,
            serde_json::json!({ booking.to_string(): ["2026-12-24T20:00:00Z"] })
        );
    }
}
