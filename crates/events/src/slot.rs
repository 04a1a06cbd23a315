//! A time slot: the half-open interval `[from, to)` in UTC.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// `from` was not strictly before `to`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("timeSlot.from must be before timeSlot.to")]
pub struct InvalidTimeSlot;

/// A booked time slot, `[from, to)`. Only constructed with `from < to`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "RawTimeSlot")]
pub struct TimeSlot {
    from: Timestamp,
    to: Timestamp,
}

#[derive(Deserialize)]
struct RawTimeSlot {
    from: Timestamp,
    to: Timestamp,
}

impl TryFrom<RawTimeSlot> for TimeSlot {
    type Error = InvalidTimeSlot;
    fn try_from(raw: RawTimeSlot) -> Result<Self, Self::Error> {
        Self::new(raw.from, raw.to)
    }
}

impl TimeSlot {
    pub fn new(from: Timestamp, to: Timestamp) -> Result<Self, InvalidTimeSlot> {
        if from < to {
            Ok(Self { from, to })
        } else {
            Err(InvalidTimeSlot)
        }
    }

    pub const fn from(&self) -> Timestamp {
        self.from
    }

    pub const fn to(&self) -> Timestamp {
        self.to
    }

    /// Whether the two slots share any instant.
    pub fn overlaps(&self, other: &TimeSlot) -> bool {
        self.from < other.to && other.from < self.to
    }

    /// Whether the slot is over at `now`.
    pub fn has_ended(&self, now: Timestamp) -> bool {
        now >= self.to
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().expect("valid timestamp")
    }

    #[test]
    fn a_slot_must_start_before_it_ends() {
        assert!(TimeSlot::new(ts("2026-12-24T18:00:00Z"), ts("2026-12-24T18:00:00Z")).is_err());
        assert!(TimeSlot::new(ts("2026-12-24T20:00:00Z"), ts("2026-12-24T18:00:00Z")).is_err());
        assert!(TimeSlot::new(ts("2026-12-24T18:00:00Z"), ts("2026-12-24T20:00:00Z")).is_ok());
    }

    #[test]
    fn a_reversed_slot_is_refused_when_deserialized() {
        let json = r#"{"from":"2026-12-24T20:00:00Z","to":"2026-12-24T18:00:00Z"}"#;
        assert!(serde_json::from_str::<TimeSlot>(json).is_err());
    }

    #[test]
    fn adjacent_slots_do_not_overlap_but_nested_ones_do() {
        let lunch = TimeSlot::new(ts("2026-12-24T11:00:00Z"), ts("2026-12-24T13:00:00Z"));
        let after = TimeSlot::new(ts("2026-12-24T13:00:00Z"), ts("2026-12-24T14:00:00Z"));
        let inner = TimeSlot::new(ts("2026-12-24T11:30:00Z"), ts("2026-12-24T12:00:00Z"));
        let (lunch, after, inner) = (lunch.expect("ok"), after.expect("ok"), inner.expect("ok"));
        assert!(!lunch.overlaps(&after));
        assert!(lunch.overlaps(&inner) && inner.overlaps(&lunch));
    }

    #[test]
    fn a_slot_has_ended_from_its_end_instant_on() {
        let slot = TimeSlot::new(ts("2026-12-24T11:00:00Z"), ts("2026-12-24T13:00:00Z"));
        let slot = slot.expect("ok");
        assert!(!slot.has_ended(ts("2026-12-24T12:59:59Z")));
        assert!(slot.has_ended(ts("2026-12-24T13:00:00Z")));
    }
}
