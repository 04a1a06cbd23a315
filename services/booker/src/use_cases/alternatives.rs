//! `alternatives` of a refusal for want of a place (API.md v2): where the same party fits
//! instead, from the read side's floor around the day asked for.

use events::{BookingPlace, PartySize, TimeSlot};
use jiff::Timestamp;

use super::Floors;
use crate::seating::availability::{self, ALTERNATIVE_DAYS, Alternative, Day, day_documents};
use crate::seating::rules::SlotRules;

/// Where `people` fit instead of `asked`: up to five slots of the same day, then of the
/// days up to three before or after, nearest first, each with the place the restaurant
/// would give. Empty when nothing fits, and when the read side cannot be read (a refusal
/// is still a refusal; that is logged). `own`: the place of a booking being changed, free
/// to it.
pub async fn alternatives<F: Floors>(
    rules: &SlotRules,
    floors: &F,
    asked: TimeSlot,
    people: PartySize,
    own: Option<&BookingPlace>,
) -> Vec<Alternative> {
    let now = Timestamp::now();
    let asked_day = asked.from().to_zoned_datetime(rules.zone.clone()).date();
    let days: Vec<Day> = (-ALTERNATIVE_DAYS..=ALTERNATIVE_DAYS)
        .filter_map(|n| asked_day.checked_add(jiff::Span::new().days(n)).ok())
        .map(|date| Day {
            date,
            slots: rules.bookable_on(date, now),
        })
        .collect();
    let floor = floors
        .floor(day_documents(&days))
        .await
        .map(|floor| match own {
            Some(own) => floor.without(&own.table_ids, own.time_slot),
            None => floor,
        });
    match floor {
        Ok(floor) => availability::alternatives(
            &asked,
            asked_day,
            &days,
            &floor.tables,
            &floor.held(),
            people,
        ),
        Err(error) => {
            tracing::warn!(%error, "no alternatives: the read side cannot be read");
            Vec::new()
        }
    }
}
