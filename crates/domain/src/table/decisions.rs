//! Which lock decisions a table remembers: for each booking, the slots (by their end) a
//! lock was placed, refused or released for. A booking may be decided for several slots
//! (a change moves it); a redelivered request for a decided (booking, slot) changes
//! nothing.
//!
//! Snapshots written before a booking could hold two slots keep one end per booking; they
//! are read as a list of one.

use std::collections::{HashMap, HashSet};

use events::{BookingId, TimeSlot};
use jiff::Timestamp;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The decisions, as (booking, end of the slot) pairs: plain values, so that cloning a
/// table (the repository does, per command) copies memory rather than allocating per
/// booking. Stored as a map from booking to the ends of its slots.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Decisions(HashSet<(BookingId, Timestamp)>);

/// The ends of the slots decided for one booking, as stored.
#[derive(Debug, Default, Serialize)]
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

impl Serialize for Decisions {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut by_booking: HashMap<BookingId, Ends> = HashMap::new();
        for (booking, end) in &self.0 {
            by_booking.entry(*booking).or_default().0.push(*end);
        }
        for ends in by_booking.values_mut() {
            ends.0.sort_unstable();
        }
        by_booking.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Decisions {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let by_booking = HashMap::<BookingId, Ends>::deserialize(deserializer)?;
        Ok(Self(
            by_booking
                .into_iter()
                .flat_map(|(booking, ends)| ends.0.into_iter().map(move |end| (booking, end)))
                .collect(),
        ))
    }
}

impl Decisions {
    /// Whether a decision was recorded for `booking` in `slot`.
    pub fn contains(&self, booking: BookingId, slot: &TimeSlot) -> bool {
        self.0.contains(&(booking, slot.to()))
    }

    /// Records a decision for `booking` in `slot`.
    pub fn record(&mut self, booking: BookingId, slot: &TimeSlot) {
        self.0.insert((booking, slot.to()));
    }

    /// Forgets the slots that ended by `now`.
    pub fn prune(&mut self, now: Timestamp) {
        self.0.retain(|(_, end)| *end > now);
    }

    /// How many (booking, slot) decisions are remembered.
    pub fn count(&self) -> usize {
        self.0.len()
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
