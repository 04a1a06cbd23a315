//! What the emails say: pure functions of a booking's facts, unit-tested without I/O. Each
//! email has a text and an HTML body; times are the restaurant's local time.

use events::{BookingId, PartySize, TableId, TimeSlot};
use jiff::tz::TimeZone;

/// Which email.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The booking is confirmed: with its access code.
    Confirmation,
    /// It moved (slot, party or tables).
    Change,
    /// It was cancelled.
    Cancellation,
    /// Its slot is near.
    Reminder,
}

impl Kind {
    /// Its name in Message-IDs, sent records and metrics.
    pub fn name(self) -> &'static str {
        match self {
            Self::Confirmation => "confirmation",
            Self::Change => "change",
            Self::Cancellation => "cancellation",
            Self::Reminder => "reminder",
        }
    }
}

/// What an email tells about a booking.
#[derive(Debug, Clone)]
pub struct Facts<'a> {
    pub booking: BookingId,
    pub name: &'a str,
    pub slot: TimeSlot,
    pub people: Option<PartySize>,
    pub tables: &'a [TableId],
    /// The access code (the confirmation only; none for bookings of releases before the
    /// code was sealed for the email).
    pub code: Option<&'a str>,
    /// Where the booking was before a change.
    pub previous: Option<TimeSlot>,
    /// The guest page's address.
    pub guest_page: &'a str,
    pub zone: &'a TimeZone,
}

/// An email's subject and bodies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Letter {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// The email of `kind` about the booking of `facts`.
pub fn letter(kind: Kind, facts: &Facts<'_>) -> Letter {
    let when = local(facts.slot, facts.zone);
    let party = facts
        .people
        .map(|p| {
            format!(
                " for {} {}",
                p.get(),
                if p.get() == 1 { "person" } else { "people" }
            )
        })
        .unwrap_or_default();
    let tables = match facts.tables {
        [] => String::new(),
        [one] => format!("Table {one}."),
        many => format!(
            "Tables {} (joined).",
            many.iter()
                .map(TableId::as_str)
                .collect::<Vec<_>>()
                .join(" + ")
        ),
    };
    let (subject, mut lines) = match kind {
        Kind::Confirmation => (
            format!("Your table on {}", short(facts.slot, facts.zone)),
            vec![format!("your table{party} is booked: {when}."), tables],
        ),
        Kind::Change => (
            format!("Your booking is changed: {}", short(facts.slot, facts.zone)),
            vec![
                match facts.previous {
                    Some(previous) if previous != facts.slot => format!(
                        "your booking moved from {} to {when}{party}.",
                        local(previous, facts.zone)
                    ),
                    _ => format!("your booking is changed: {when}{party}."),
                },
                tables,
            ],
        ),
        Kind::Cancellation => (
            format!(
                "Your booking is cancelled: {}",
                short(facts.slot, facts.zone)
            ),
            vec![format!(
                "your booking{party} on {when} is cancelled. We hope to see you another time."
            )],
        ),
        Kind::Reminder => (
            format!("See you soon: {}", short(facts.slot, facts.zone)),
            vec![format!("a reminder of your table{party}: {when}."), tables],
        ),
    };
    lines.retain(|line| !line.is_empty());
    let mut text = format!("Hello {},\n\n", facts.name);
    let mut html = format!("<p>Hello {},</p>\n", escape(facts.name));
    for line in &lines {
        text.push_str(&capitalized(line));
        text.push('\n');
        html.push_str(&format!("<p>{}</p>\n", escape(&capitalized(line))));
    }
    if let Some(code) = facts.code.filter(|_| kind == Kind::Confirmation) {
        text.push_str(&format!(
            "\nYour access code: {code}\nKeep it: with your email it lets you find, change or cancel this booking.\n"
        ));
        html.push_str(&format!(
            "<p>Your access code: <strong style=\"font-size:1.6em;letter-spacing:.15em\">{}</strong></p>\n\
             <p>Keep it: with your email it lets you find, change or cancel this booking.</p>\n",
            escape(code)
        ));
    }
    if kind != Kind::Cancellation {
        text.push_str(&format!(
            "\nYour booking, to change or cancel it: {}\n",
            facts.guest_page
        ));
        html.push_str(&format!(
            "<p><a href=\"{0}\">Your booking, to change or cancel it</a>: {0}</p>\n",
            escape(facts.guest_page)
        ));
    }
    text.push_str(&format!("\nBooking {}\n", facts.booking));
    html.push_str(&format!(
        "<p style=\"color:#555\">Booking {}</p>\n",
        facts.booking
    ));
    Letter {
        subject,
        text,
        html: format!("<!DOCTYPE html>\n<html><body>\n{html}</body></html>\n"),
    }
}

/// "Thursday 24 December 2026, 19:00 to 21:00" in `zone`.
pub fn local(slot: TimeSlot, zone: &TimeZone) -> String {
    let from = slot.from().to_zoned_datetime(zone.clone());
    let to = slot.to().to_zoned_datetime(zone.clone());
    format!(
        "{} to {}",
        from.strftime("%A %-d %B %Y, %H:%M"),
        to.strftime("%H:%M")
    )
}

/// "24 December, 19:00" in `zone`.
fn short(slot: TimeSlot, zone: &TimeZone) -> String {
    slot.from()
        .to_zoned_datetime(zone.clone())
        .strftime("%-d %B, %H:%M")
        .to_string()
}

fn capitalized(line: &str) -> String {
    let mut chars = line.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// `text` safe inside HTML.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

#[cfg(test)]
mod tests {
    use events::fixtures::{dinner, lunch, people, t1};

    use super::*;

    fn facts<'a>(tables: &'a [TableId], zone: &'a TimeZone) -> Facts<'a> {
        Facts {
            booking: BookingId::parse("0193f0b4-7c1e-7000-8000-000000000001").expect("id"),
            name: "Ada <Lovelace>",
            slot: dinner(),
            people: Some(people(4)),
            tables,
            code: Some("K7QX2"),
            previous: None,
            guest_page: "https://restaurant.example/",
            zone,
        }
    }

    #[test]
    fn a_confirmation_tells_the_slot_in_local_time_the_code_and_where_to_manage_it() {
        let zone = TimeZone::get("Europe/Paris").expect("zone");
        let tables = [t1()];
        let letter = letter(Kind::Confirmation, &facts(&tables, &zone));
        assert_eq!(letter.subject, "Your table on 24 December, 19:00");
        assert!(
            letter.text.contains(
                "Your table for 4 people is booked: Thursday 24 December 2026, 19:00 to 21:00."
            ),
            "{}",
            letter.text
        );
        assert!(letter.text.contains("Your access code: K7QX2"));
        assert!(letter.text.contains("Table t1."));
        assert!(letter.text.contains("https://restaurant.example/"));
        assert!(
            letter.html.contains("Ada &lt;Lovelace&gt;"),
            "{}",
            letter.html
        );
        assert!(letter.html.contains(">K7QX2</strong>"));
    }

    #[test]
    fn a_change_tells_where_the_booking_was_and_is_and_never_the_code() {
        let zone = TimeZone::get("Europe/Paris").expect("zone");
        let tables = [
            TableId::parse("t2").expect("id"),
            TableId::parse("t3").expect("id"),
        ];
        let mut moved = facts(&tables, &zone);
        moved.slot = lunch();
        moved.previous = Some(dinner());
        let letter = letter(Kind::Change, &moved);
        assert!(
            letter.text.contains(
                "moved from Thursday 24 December 2026, 19:00 to 21:00 to Thursday 24 December 2026, 12:00 to 14:00"
            ),
            "{}",
            letter.text
        );
        assert!(letter.text.contains("Tables t2 + t3 (joined)."));
        assert!(
            !letter.text.contains("K7QX2"),
            "the code only in the confirmation"
        );
    }

    #[test]
    fn a_cancellation_and_a_reminder_say_so() {
        let zone = TimeZone::get("Europe/Paris").expect("zone");
        let tables = [t1()];
        let cancelled = letter(Kind::Cancellation, &facts(&tables, &zone));
        assert!(cancelled.subject.starts_with("Your booking is cancelled"));
        assert!(cancelled.text.contains("is cancelled"));
        let reminder = letter(Kind::Reminder, &facts(&tables, &zone));
        assert!(reminder.subject.starts_with("See you soon"));
        assert!(reminder.text.contains("a reminder") || reminder.text.contains("A reminder"));
    }
}
