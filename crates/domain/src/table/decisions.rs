//! Which lock decisions a table remembers: for each booking, the slots (by their end) and
//! revisions (ADR 0029) a lock was placed, refused or released for. A booking may be
//! decided for several slots and revisions (changes move it); a redelivered request for a
//! decided (booking, slot, revision) changes nothing.
//!
//! Snapshots written before a booking could hold two slots keep one end per booking; they
//! are read as a list of one. An end alone stands for revision 0, as written before
//! changes; a later revision is stored as `[end, revision]`.

use std::collections::{HashMap, HashSet};

use events::{BookingId, Revision, TimeSlot};
use jiff::Timestamp;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The decisions, as (booking, end of the slot, revision) triples: plain values, so that
/// a copy of a table copies memory rather than allocating per booking. Stored as a map
/// from booking to the ends of its slots.
#[derive(Debug, Clone, Default)]
pub struct Decisions {
    decided: HashSet<(BookingId, Timestamp, Revision)>,
    /// The earliest end among them: pruning before it finds nothing to forget, so a
    /// command costs no pass over every decision.
    earliest_end: Option<Timestamp>,
}

impl PartialEq for Decisions {
    fn eq(&self, other: &Self) -> bool {
        self.decided == other.decided
    }
}

impl Eq for Decisions {}

/// The decisions for one booking, as stored.
#[derive(Debug, Default, Serialize)]
#[serde(transparent)]
struct Ends(Vec<End>);

/// One decision of a booking: the end of its slot, with the revision when not 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(untagged)]
enum End {
    First(Timestamp),
    Revised(Timestamp, Revision),
}

impl End {
    fn new(end: Timestamp, revision: Revision) -> Self {
        if revision == 0 {
            Self::First(end)
        } else {
            Self::Revised(end, revision)
        }
    }

    fn parts(self) -> (Timestamp, Revision) {
        match self {
            Self::First(end) => (end, 0),
            Self::Revised(end, revision) => (end, revision),
        }
    }
}

impl<'de> Deserialize<'de> for Ends {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Stored {
            One(Timestamp),
            Many(Vec<End>),
        }
        Ok(match Stored::deserialize(deserializer)? {
            Stored::One(end) => Self(vec![End::First(end)]),
            Stored::Many(ends) => Self(ends),
        })
    }
}

impl Serialize for Decisions {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut by_booking: HashMap<BookingId, Ends> = HashMap::new();
        for (booking, end, revision) in &self.decided {
            let end = End::new(*end, *revision);
            by_booking.entry(*booking).or_default().0.push(end);
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
        let decided: HashSet<_> = by_booking
            .into_iter()
            .flat_map(|(booking, ends)| {
                ends.0.into_iter().map(move |end| {
                    let (end, revision) = end.parts();
                    (booking, end, revision)
                })
            })
            .collect();
        let earliest_end = decided.iter().map(|(_, end, _)| *end).min();
        Ok(Self {
            decided,
            earliest_end,
        })
    }
}

impl Decisions {
    /// Whether a decision was recorded for `booking` in `slot` at `revision`.
    pub fn contains(&self, booking: BookingId, slot: &TimeSlot, revision: Revision) -> bool {
        self.decided.contains(&(booking, slot.to(), revision))
    }

    /// Records a decision for `booking` in `slot` at `revision`.
    pub fn record(&mut self, booking: BookingId, slot: &TimeSlot, revision: Revision) {
        self.decided.insert((booking, slot.to(), revision));
        let end = slot.to();
        self.earliest_end = Some(self.earliest_end.map_or(end, |earliest| earliest.min(end)));
    }

    /// Forgets the slots that ended by `now`.
    pub fn prune(&mut self, now: Timestamp) {
        if self.earliest_end.is_none_or(|earliest| earliest > now) {
            return;
        }
        self.decided.retain(|(_, end, _)| *end > now);
        self.earliest_end = self.decided.iter().map(|(_, end, _)| *end).min();
    }

    /// How many (booking, slot) decisions are remembered.
    pub fn count(&self) -> usize {
        self.decided.len()
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
        decisions.record(booking, &dinner(), 0);
        decisions.record(booking, &dinner(), 0);
        assert!(decisions.contains(booking, &dinner(), 0));
        assert!(!decisions.contains(booking, &lunch(), 0));
        assert!(!decisions.contains(BookingId::new(), &dinner(), 0));
        decisions.record(booking, &lunch(), 0);
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
        assert!(decisions.contains(booking, &dinner(), 0));
        let written = serde_json::to_value(&decisions).expect("write");
        assert_eq!(
            written,
            serde_json::json!({ booking.to_string(): ["2026-12-24T20:00:00Z"] })
        );
    }

    #[test]
    fn a_booking_is_decided_per_revision_and_a_later_one_is_stored_with_it() {
        let booking = BookingId::parse("0193f0b4-7c1e-7000-8000-000000000001").expect("id");
        let mut decisions = Decisions::default();
        decisions.record(booking, &dinner(), 0);
        decisions.record(booking, &dinner(), 2);
        assert!(decisions.contains(booking, &dinner(), 2));
        assert!(!decisions.contains(booking, &dinner(), 1));
        let written = serde_json::to_value(&decisions).expect("write");
        assert_eq!(
            written,
            serde_json::json!({ booking.to_string():
                ["2026-12-24T20:00:00Z", ["2026-12-24T20:00:00Z", 2]] })
        );
        let read: Decisions = serde_json::from_value(written).expect("read");
        assert_eq!(read, decisions);
    }
}
