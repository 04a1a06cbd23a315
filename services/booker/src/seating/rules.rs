//! What makes a slot bookable: one of the restaurant's daily slots, starting after now and
//! within the booking horizon.

use domain::SlotSchedule;
use events::TimeSlot;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};

/// The restaurant's slots and how far ahead one can book.
#[derive(Debug, Clone)]
pub struct SlotRules {
    pub schedule: SlotSchedule,
    pub zone: TimeZone,
    pub horizon_days: u16,
}

/// `RESTAURANT_TIMEZONE`: an IANA time zone name.
pub fn parse_timezone(name: &str) -> Result<TimeZone, String> {
    TimeZone::get(name).map_err(|_| format!("{name:?} is not a known IANA time zone"))
}

/// Why a time slot cannot be booked: the field to name and the message.
pub type SlotRefusal = (&'static str, String);

impl SlotRules {
    /// The latest start a booking made at `now` may have.
    pub fn horizon(&self, now: Timestamp) -> Timestamp {
        now.checked_add(SignedDuration::from_hours(
            24 * i64::from(self.horizon_days),
        ))
        .unwrap_or(Timestamp::MAX)
    }

    /// Whether a booking made at `now` may ask for `slot`.
    pub fn check(&self, slot: TimeSlot, now: Timestamp) -> Result<TimeSlot, SlotRefusal> {
        if !self.schedule.is_slot(&slot, &self.zone) {
            return Err((
                "timeSlot",
                format!(
                    "is not one of the restaurant's slots ({} local time in {})",
                    self.schedule,
                    self.zone
                        .iana_name()
                        .unwrap_or("the restaurant's time zone")
                ),
            ));
        }
        if slot.from() <= now {
            return Err(("timeSlot.from", "must be in the future".to_owned()));
        }
        if slot.from() > self.horizon(now) {
            return Err((
                "timeSlot.from",
                format!(
                    "is beyond the booking horizon of {} days",
                    self.horizon_days
                ),
            ));
        }
        Ok(slot)
    }

    /// The slots of local `day` that can still be booked at `now`, in order.
    pub fn bookable_on(&self, day: Date, now: Timestamp) -> Vec<TimeSlot> {
        let horizon = self.horizon(now);
        self.schedule
            .slots_on(day, &self.zone)
            .into_iter()
            .filter(|slot| slot.from() > now && slot.from() <= horizon)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_time_zone_is_refused() {
        assert!(parse_timezone("Europe/Paris").is_ok());
        assert!(parse_timezone("Mars/Olympus").is_err());
    }
}
