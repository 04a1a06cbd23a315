//! The restaurant's daily slots (`SLOTS=12:00-14:00,19:00-21:00`) in its time zone.

use events::TimeSlot;
use jiff::civil::{Date, Time};
use jiff::tz::TimeZone;

/// `SLOTS` could not be understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidSchedule {
    #[error("no slots given")]
    Empty,
    #[error("slot {0:?} is not of the form HH:MM-HH:MM")]
    Malformed(String),
    #[error("slot {0:?} does not end after it starts")]
    Reversed(String),
    #[error("slots {0:?} and {1:?} overlap")]
    Overlapping(String, String),
}

/// The fixed daily slots, as local wall-clock times, sorted and not overlapping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotSchedule {
    slots: Vec<(Time, Time)>,
}

impl std::fmt::Display for SlotSchedule {
    /// The `SLOTS` form: `12:00-14:00,19:00-21:00`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = self.slots.iter().map(|slot| show(*slot)).collect();
        f.write_str(&parts.join(","))
    }
}

impl SlotSchedule {
    /// Parses `HH:MM-HH:MM[,HH:MM-HH:MM...]`.
    pub fn parse(raw: &str) -> Result<Self, InvalidSchedule> {
        let mut slots = Vec::new();
        for part in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let malformed = || InvalidSchedule::Malformed(part.to_owned());
            let (start, end) = part.split_once('-').ok_or_else(malformed)?;
            let start = parse_time(start.trim()).ok_or_else(malformed)?;
            let end = parse_time(end.trim()).ok_or_else(malformed)?;
            if start >= end {
                return Err(InvalidSchedule::Reversed(part.to_owned()));
            }
            slots.push((start, end));
        }
        if slots.is_empty() {
            return Err(InvalidSchedule::Empty);
        }
        slots.sort();
        for pair in slots.windows(2) {
            if pair[1].0 < pair[0].1 {
                return Err(InvalidSchedule::Overlapping(show(pair[0]), show(pair[1])));
            }
        }
        Ok(Self { slots })
    }

    /// The local (start, end) times of each slot, in order.
    pub fn local_slots(&self) -> &[(Time, Time)] {
        &self.slots
    }

    /// The slots of one local day as UTC instants, DST-correct: a slot keeps its wall-clock
    /// times, so its UTC offset follows the zone on that day. A wall-clock time that does
    /// not exist that day (inside a spring-forward gap) is moved forward, as clocks do.
    pub fn slots_on(&self, day: Date, zone: &TimeZone) -> Vec<TimeSlot> {
        self.slots
            .iter()
            .filter_map(|(start, end)| {
                let from = day
                    .to_datetime(*start)
                    .to_zoned_datetime(zone.clone())
                    .ok()?;
                let to = day.to_datetime(*end).to_zoned_datetime(zone.clone()).ok()?;
                TimeSlot::new(from.timestamp(), to.timestamp()).ok()
            })
            .collect()
    }

    /// Whether `slot` is exactly one configured slot of one local day.
    pub fn is_slot(&self, slot: &TimeSlot, zone: &TimeZone) -> bool {
        let day = slot.from().to_zoned_datetime(zone.clone()).date();
        self.slots_on(day, zone).contains(slot)
    }
}

fn parse_time(raw: &str) -> Option<Time> {
    let (h, m) = raw.split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    Time::new(h.parse().ok()?, m.parse().ok()?, 0, 0).ok()
}

fn show((start, end): (Time, Time)) -> String {
    format!("{}-{}", start.strftime("%H:%M"), end.strftime("%H:%M"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn paris() -> TimeZone {
        TimeZone::get("Europe/Paris").expect("bundled tz database")
    }

    fn ts(s: &str) -> jiff::Timestamp {
        s.parse().expect("timestamp")
    }

    #[test]
    fn the_default_slots_parse_into_lunch_and_dinner() {
        let schedule = SlotSchedule::parse("12:00-14:00,19:00-21:00").expect("valid");
        assert_eq!(schedule.local_slots().len(), 2);
    }

    #[test]
    fn slots_are_sorted_whatever_order_they_are_given_in() {
        let a = SlotSchedule::parse("19:00-21:00, 12:00-14:00").expect("valid");
        let b = SlotSchedule::parse("12:00-14:00,19:00-21:00").expect("valid");
        assert_eq!(a, b);
    }

    #[test]
    fn malformed_reversed_overlapping_or_empty_slot_lists_are_refused() {
        assert_eq!(SlotSchedule::parse(""), Err(InvalidSchedule::Empty));
        assert!(matches!(
            SlotSchedule::parse("12-14"),
            Err(InvalidSchedule::Malformed(_))
        ));
        assert!(matches!(
            SlotSchedule::parse("25:00-26:00"),
            Err(InvalidSchedule::Malformed(_))
        ));
        assert!(matches!(
            SlotSchedule::parse("14:00-12:00"),
            Err(InvalidSchedule::Reversed(_))
        ));
        assert!(matches!(
            SlotSchedule::parse("12:00-14:00,13:00-15:00"),
            Err(InvalidSchedule::Overlapping(..))
        ));
    }

    #[test]
    fn given_a_winter_day_in_paris_when_slots_are_computed_then_they_are_one_hour_ahead_of_utc() {
        let schedule = SlotSchedule::parse("12:00-14:00,19:00-21:00").expect("valid");
        let slots = schedule.slots_on(date(2026, 12, 24), &paris());
        assert_eq!(slots[0].from(), ts("2026-12-24T11:00:00Z"));
        assert_eq!(slots[0].to(), ts("2026-12-24T13:00:00Z"));
        assert_eq!(slots[1].from(), ts("2026-12-24T18:00:00Z"));
    }

    #[test]
    fn given_a_summer_day_in_paris_when_slots_are_computed_then_they_are_two_hours_ahead_of_utc() {
        let schedule = SlotSchedule::parse("12:00-14:00").expect("valid");
        let slots = schedule.slots_on(date(2026, 7, 14), &paris());
        assert_eq!(slots[0].from(), ts("2026-07-14T10:00:00Z"));
    }

    #[test]
    fn given_a_slot_across_the_spring_forward_gap_when_computed_then_it_is_one_hour_shorter() {
        // 2026-03-29 in Paris: 02:00 jumps to 03:00.
        let schedule = SlotSchedule::parse("01:00-04:00").expect("valid");
        let slots = schedule.slots_on(date(2026, 3, 29), &paris());
        assert_eq!(slots[0].from(), ts("2026-03-29T00:00:00Z"));
        assert_eq!(slots[0].to(), ts("2026-03-29T02:00:00Z"));
    }

    #[test]
    fn only_a_configured_slot_of_one_local_day_is_recognised_as_a_slot() {
        let schedule = SlotSchedule::parse("12:00-14:00,19:00-21:00").expect("valid");
        let zone = paris();
        let ok = TimeSlot::new(ts("2026-12-24T18:00:00Z"), ts("2026-12-24T20:00:00Z"));
        let shifted = TimeSlot::new(ts("2026-12-24T18:30:00Z"), ts("2026-12-24T20:00:00Z"));
        let summer_offset = TimeSlot::new(ts("2026-12-24T17:00:00Z"), ts("2026-12-24T19:00:00Z"));
        assert!(schedule.is_slot(&ok.expect("slot"), &zone));
        assert!(!schedule.is_slot(&shifted.expect("slot"), &zone));
        assert!(!schedule.is_slot(&summer_offset.expect("slot"), &zone));
    }
}
