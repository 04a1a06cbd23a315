//! The read models: the documents the projector writes to NATS KV and the gateway reads,
//! their keys and buckets. Part of the contract between those two services.
//!
//! Every model lives in one bucket per *generation*. A rebuild fills a fresh generation
//! from sequence 1 and then points [`CURRENT_KEY`] of [`CONTROL_BUCKET`] at it, so readers
//! switch over in one step (ADR 0009).

use std::collections::BTreeMap;

use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use crate::booking::{BookingPlace, BookingStatus, Customer, RejectionReason};
use crate::ids::{
    AccessCodeDigest, BookingId, CausationId, CombinationId, CorrelationId, PartySize, TableId,
};
use crate::slot::TimeSlot;

/// Bucket holding [`CURRENT_KEY`]: which generation the queries read.
pub const CONTROL_BUCKET: &str = "read_models";
/// Key of [`Current`] in [`CONTROL_BUCKET`].
pub const CURRENT_KEY: &str = "current";
/// Prefix of the generation buckets' names before [`FORMAT`] 3 (`read_model_g<N>`).
pub const LEGACY_GENERATION_PREFIX: &str = "read_model_g";
/// The two buckets generations of [`FORMAT`] 3 live in, in turn (blue/green): odd
/// generations in the first, even ones in the second. Fixed names, so that the projector's
/// NATS user may be given exactly these (ADR 0032).
pub const GENERATION_BUCKETS: [&str; 2] = ["read_models_blue", "read_models_green"];
/// Key, in a generation's bucket, of the generation number it holds.
pub const GENERATION_KEY: &str = "generation";

/// The bucket of a generation of [`FORMAT`] 3 or later: blue for odd, green for even.
pub fn generation_bucket(generation: u64) -> &'static str {
    GENERATION_BUCKETS[usize::from(generation.is_multiple_of(2))]
}

/// The bucket of a generation written by a release before [`FORMAT`] 3.
pub fn legacy_generation_bucket(generation: u64) -> String {
    format!("{LEGACY_GENERATION_PREFIX}{generation}")
}

/// The format of the generations this release writes: 2 adds the [`BusyView`] index, 3
/// keeps generations in the two [`GENERATION_BUCKETS`] in turn.
pub const FORMAT: u32 = 3;

/// The generation the queries read, and the format it was built in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Current {
    pub generation: u64,
    /// 1 (absent) for a generation built by a release before [`FORMAT`] 2: it has no
    /// [`BusyView`]s, readers use the [`DayView`]s.
    #[serde(default = "first_format")]
    pub format: u32,
}

fn first_format() -> u32 {
    1
}

impl Current {
    /// A generation of this release's format.
    pub fn new(generation: u64) -> Self {
        Self {
            generation,
            format: FORMAT,
        }
    }

    /// Whether the generation has the [`BusyView`] index.
    pub fn has_busy_index(&self) -> bool {
        self.format >= 2
    }

    /// The name of the bucket this generation lives in.
    pub fn bucket(&self) -> String {
        if self.format >= 3 {
            generation_bucket(self.generation).to_owned()
        } else {
            legacy_generation_bucket(self.generation)
        }
    }
}

/// A document's key in a generation bucket.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Key {
    /// [`TablesView`]: every table ever added.
    Tables,
    /// [`DayView`]: the locks of slots starting on one UTC date.
    Day(Date),
    /// [`BusyView`]: which tables are held in the slots starting on one UTC date; derived
    /// from the [`DayView`] of that date, written with it, for availability queries.
    Busy(Date),
    /// [`BookingView`].
    Booking(BookingId),
    /// [`BookingLocksView`]: the table events of one booking's saga.
    BookingLocks(BookingId),
    /// [`LocatorEntry`]: one booking made with an email address (by its [`email_digest`]).
    /// One document per booking, so nothing grows with one address's traffic; a lookup
    /// lists the entries under [`locator_prefix`].
    Locator { email: String, booking: BookingId },
    /// [`LocatorView`]: every booking of one address in one document, as releases before
    /// the per-booking entries wrote it; still read by lookups, never written.
    LegacyLocator(String),
    /// [`Checkpoint`] of one stream.
    Checkpoint(&'static str),
}

impl Key {
    /// The KV key. Only characters KV allows: ids are checked at the edge, dates and
    /// digests are made of digits, letters and `-`.
    pub fn name(&self) -> String {
        match self {
            Self::Tables => "tables".to_owned(),
            Self::Day(date) => format!("day.{date}"),
            Self::Busy(date) => format!("busy.{date}"),
            Self::Booking(id) => format!("booking.{id}"),
            Self::BookingLocks(id) => format!("locks.{id}"),
            Self::Locator { email, booking } => format!("locator.{email}.{booking}"),
            Self::LegacyLocator(digest) => format!("locator.{digest}"),
            Self::Checkpoint(stream) => format!("checkpoint.{stream}"),
        }
    }
}

/// How far a generation has applied one stream: every event up to `sequence`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Checkpoint {
    pub sequence: u64,
}

/// Every table ever added, removed ones flagged (their ids stay used).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TablesView {
    pub tables: BTreeMap<TableId, TableView>,
    /// Every combination ever declared, removed ones flagged (none in documents written
    /// before combinations existed).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub combinations: BTreeMap<CombinationId, CombinationView>,
}

/// A combination of tables as the read side keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CombinationView {
    /// Sorted.
    pub tables: Vec<TableId>,
    pub seats: u8,
    pub removed: bool,
    /// Stream sequence of the last event applied to this combination.
    pub sequence: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TableView {
    pub seats: u8,
    pub removed: bool,
    /// Stream sequence of the last event applied to this table.
    pub sequence: u64,
}

/// The UTC date a slot starts on: the key of the [`DayView`] that holds its locks.
pub fn day_of(slot: &TimeSlot) -> Date {
    slot.from()
        .to_zoned_datetime(jiff::tz::TimeZone::UTC)
        .date()
}

/// The dates of the [`DayView`]s that may hold a lock overlapping `slot`: the day it
/// starts on, the day before (a lock across midnight UTC) and the day it ends on.
pub fn days_overlapping(slot: &TimeSlot) -> impl Iterator<Item = Date> {
    let start = day_of(slot);
    let end = slot.to().to_zoned_datetime(jiff::tz::TimeZone::UTC).date();
    [start.yesterday().ok(), Some(start), Some(end)]
        .into_iter()
        .flatten()
}

/// The locks held in the slots that start on one UTC date, by `"<tableId> <from>"`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DayView {
    pub locks: BTreeMap<String, LockView>,
}

impl DayView {
    /// The entry name of a lock.
    pub fn lock_name(table: &TableId, slot: &TimeSlot) -> String {
        format!("{table} {}", slot.from())
    }
}

/// The availability index of one UTC date: per slot (by its start), its end and the
/// tables held then. A few bytes per lock, where a [`LockView`] takes a hundred and more:
/// a query over 15 days reads and parses a fraction of the day documents.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BusyView {
    pub slots: BTreeMap<Timestamp, BusySlot>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BusySlot {
    pub to: Timestamp,
    pub tables: Vec<TableId>,
}

impl BusyView {
    /// The index of a day document.
    pub fn of(day: &DayView) -> Self {
        let mut slots: BTreeMap<Timestamp, BusySlot> = BTreeMap::new();
        for lock in day.locks.values() {
            slots
                .entry(lock.time_slot.from())
                .or_insert_with(|| BusySlot {
                    to: lock.time_slot.to(),
                    tables: Vec::new(),
                })
                .tables
                .push(lock.table_id.clone());
        }
        for slot in slots.values_mut() {
            slot.tables.sort();
        }
        Self { slots }
    }

    /// Each held table with its slot.
    pub fn held(&self) -> impl Iterator<Item = (&TableId, TimeSlot)> {
        self.slots.iter().flat_map(|(from, slot)| {
            let time_slot = TimeSlot::new(*from, slot.to).ok();
            slot.tables
                .iter()
                .filter_map(move |table| Some((table, time_slot?)))
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LockView {
    pub table_id: TableId,
    pub time_slot: TimeSlot,
    pub booking_id: BookingId,
    pub sequence: u64,
}

/// One booking, with its own events for the history route.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BookingView {
    pub id: BookingId,
    /// The table when the booking holds exactly one (documents written before
    /// multi-table bookings have only this).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table_id: Option<TableId>,
    /// Every table of the booking, sorted (see [`BookingView::tables`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub table_ids: Vec<TableId>,
    pub time_slot: TimeSlot,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub people: Option<PartySize>,
    /// In clear only for bookings made before customers were sealed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer: Option<Customer>,
    /// The customer sealed with the booking's own key (ADR 0024).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sealed_customer: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub customer_erased: bool,
    pub status: BookingStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<RejectionReason>,
    pub access_code_digest: AccessCodeDigest,
    /// Where a change being decided moves the booking (ADR 0029).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_change: Option<BookingPlace>,
    /// Stream sequence of the last event applied.
    pub sequence: u64,
    pub events: Vec<HistoryEntry>,
}

impl BookingView {
    /// Every table of the booking, sorted, whichever release wrote the document.
    pub fn tables(&self) -> Vec<TableId> {
        if self.table_ids.is_empty() {
            self.table_id.iter().cloned().collect()
        } else {
            self.table_ids.clone()
        }
    }
}

/// The table events (lock placed, failed, removed) of one booking's saga.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BookingLocksView {
    pub events: Vec<HistoryEntry>,
}

/// One event as the history route shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryEntry {
    #[serde(rename = "type")]
    pub event_type: String,
    pub occurred_at: Timestamp,
    pub correlation_id: CorrelationId,
    pub causation_id: CausationId,
    /// The event's payload, without the access-code digest.
    pub data: serde_json::Value,
    pub stream: String,
    pub sequence: u64,
}

/// The key prefix of the [`LocatorEntry`]s of the address with `email_digest`: each key is
/// this and a booking id.
pub fn locator_prefix(email_digest: &str) -> String {
    format!("locator.{email_digest}.")
}

/// One booking made with an email address, and the digest of its access code, so that a
/// lookup by (email, code) finds its booking without the code ever being stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LocatorEntry {
    pub access_code_digest: AccessCodeDigest,
}

/// The bookings made with one email address and the digests of their access codes (the
/// document of [`Key::LegacyLocator`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LocatorView {
    pub bookings: BTreeMap<BookingId, AccessCodeDigest>,
}

/// The locator key of an email address: hex SHA-256 of the trimmed, lower-cased address.
/// Addresses are not kept in keys (KV keys are listed in clear by any bucket reader).
pub fn email_digest(email: &str) -> String {
    let normalized = email.trim().to_lowercase();
    let digest = ring::digest::digest(&ring::digest::SHA256, normalized.as_bytes());
    digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_email_has_the_same_locator_key_whatever_its_case_and_spacing() {
        assert_eq!(
            email_digest(" Ada@Example.com "),
            email_digest("ada@example.com")
        );
        assert_eq!(email_digest("ada@example.com").len(), 64);
    }

    #[test]
    fn a_lock_is_filed_under_the_utc_date_its_slot_starts_and_found_from_any_overlapping_slot() {
        let slot = |from: &str, to: &str| {
            TimeSlot::new(from.parse().expect("from"), to.parse().expect("to")).expect("slot")
        };
        let late = slot("2026-12-24T23:00:00Z", "2026-12-25T01:00:00Z");
        assert_eq!(day_of(&late), Date::constant(2026, 12, 24));
        let after_midnight = slot("2026-12-25T00:00:00Z", "2026-12-25T02:00:00Z");
        assert!(days_overlapping(&after_midnight).any(|day| day == day_of(&late)));
        let dinner = slot("2026-12-24T18:00:00Z", "2026-12-24T20:00:00Z");
        let days: Vec<Date> = days_overlapping(&dinner).collect();
        assert!(days.contains(&day_of(&dinner)));
        assert!(days.contains(&Date::constant(2026, 12, 23)));
    }

    #[test]
    fn a_locator_entry_key_is_its_address_prefix_and_its_booking() {
        let booking = BookingId::new();
        let email = email_digest("ada@example.com");
        let name = Key::Locator {
            email: email.clone(),
            booking,
        }
        .name();
        let rest = name.strip_prefix(&locator_prefix(&email)).expect("prefix");
        assert_eq!(rest, booking.to_string());
    }

    #[test]
    fn a_pointer_written_before_format_two_reads_as_format_one_without_the_busy_index() {
        let old: Current = serde_json::from_str(r#"{"generation":3}"#).expect("pointer");
        assert_eq!(old.format, 1);
        assert!(!old.has_busy_index());
        assert!(Current::new(4).has_busy_index());
    }

    #[test]
    fn the_busy_index_of_a_day_holds_each_locked_table_with_its_slot() {
        let slot = |from: &str, to: &str| {
            TimeSlot::new(from.parse().expect("from"), to.parse().expect("to")).expect("slot")
        };
        let (lunch, dinner) = (
            slot("2026-12-24T11:00:00Z", "2026-12-24T13:00:00Z"),
            slot("2026-12-24T18:00:00Z", "2026-12-24T20:00:00Z"),
        );
        let mut day = DayView::default();
        for (table, time_slot) in [("t2", dinner), ("t1", dinner), ("t1", lunch)] {
            let table_id = TableId::parse(table).expect("id");
            day.locks.insert(
                DayView::lock_name(&table_id, &time_slot),
                LockView {
                    table_id,
                    time_slot,
                    booking_id: BookingId::new(),
                    sequence: 1,
                },
            );
        }
        let busy = BusyView::of(&day);
        let held: Vec<(String, TimeSlot)> = busy.held().map(|(t, s)| (t.to_string(), s)).collect();
        assert_eq!(
            held,
            [
                ("t1".to_owned(), lunch),
                ("t1".to_owned(), dinner),
                ("t2".to_owned(), dinner)
            ]
        );
        let json = serde_json::to_vec(&busy).expect("json");
        let full = serde_json::to_vec(&day).expect("json");
        assert!(
            json.len() * 3 < full.len(),
            "{} vs {}",
            json.len(),
            full.len()
        );
    }

    #[test]
    fn keys_are_made_of_characters_kv_allows() {
        let keys = [
            Key::Tables,
            Key::Day(Date::constant(2026, 12, 24)),
            Key::Busy(Date::constant(2026, 12, 24)),
            Key::Booking(BookingId::new()),
            Key::BookingLocks(BookingId::new()),
            Key::Locator {
                email: email_digest("ada@example.com"),
                booking: BookingId::new(),
            },
            Key::LegacyLocator(email_digest("ada@example.com")),
            Key::Checkpoint("BOOKINGS"),
        ];
        for key in keys {
            let name = key.name();
            assert!(
                name.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_./=".contains(c)),
                "{name}"
            );
        }
    }
}
