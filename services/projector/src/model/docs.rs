//! The read-model documents in hand while events are applied: loaded from the store, or
//! changed and not yet written back.

use std::collections::{BTreeSet, HashMap};
use std::hash::Hash;

use events::BookingId;
use events::read_model::{
    BookingLocksView, BookingView, BusyView, DayView, Key, LocatorEntry, TablesView, email_digest,
};
use jiff::civil::Date;
use serde::de::DeserializeOwned;

/// The documents of one kind in hand: `None` for a key known to have no document yet.
#[derive(Debug)]
pub(super) struct Shelf<K, V> {
    pub(super) docs: HashMap<K, Option<V>>,
    pub(super) dirty: BTreeSet<K>,
}

impl<K, V> Default for Shelf<K, V> {
    fn default() -> Self {
        Self {
            docs: HashMap::new(),
            dirty: BTreeSet::new(),
        }
    }
}

impl<K: Hash + Ord + Clone, V: Default> Shelf<K, V> {
    /// The document of `key`, created empty if there is none; marked changed.
    pub(super) fn open(&mut self, key: K) -> &mut V {
        self.dirty.insert(key.clone());
        self.docs
            .entry(key)
            .or_default()
            .get_or_insert_with(V::default)
    }
}

impl<K: Hash + Ord + Clone, V> Shelf<K, V> {
    pub(super) fn get(&self, key: &K) -> Option<&V> {
        self.docs.get(key).and_then(Option::as_ref)
    }

    fn changed(&self) -> impl Iterator<Item = (&K, &V)> {
        self.dirty
            .iter()
            .filter_map(|key| self.get(key).map(|doc| (key, doc)))
    }

    fn clear(&mut self) {
        self.docs.clear();
        self.dirty.clear();
    }
}

/// The read-model documents in hand: loaded from the store, or changed by events and not
/// yet written back.
#[derive(Debug, Default)]
pub struct Docs {
    pub(super) tables: Shelf<(), TablesView>,
    pub(super) days: Shelf<Date, DayView>,
    pub(super) bookings: Shelf<BookingId, BookingView>,
    pub(super) locks: Shelf<BookingId, BookingLocksView>,
    pub(super) locators: Shelf<(String, BookingId), LocatorEntry>,
}

impl Docs {
    /// Whether the document of `key` (or its absence) is in hand.
    pub fn has(&self, key: &Key) -> bool {
        match key {
            Key::Tables => self.tables.docs.contains_key(&()),
            Key::Day(date) => self.days.docs.contains_key(date),
            Key::Booking(id) => self.bookings.docs.contains_key(id),
            Key::BookingLocks(id) => self.locks.docs.contains_key(id),
            Key::Locator { email, booking } => {
                self.locators.docs.contains_key(&(email.clone(), *booking))
            }
            Key::LegacyLocator(_) => true,
            Key::Busy(_) | Key::Checkpoint(_) => true,
        }
    }

    /// Takes in what the store holds for `key` (`None`: nothing).
    pub fn load(&mut self, key: &Key, stored: Option<&[u8]>) -> Result<(), serde_json::Error> {
        fn decode<V: DeserializeOwned>(
            stored: Option<&[u8]>,
        ) -> Result<Option<V>, serde_json::Error> {
            stored.map(serde_json::from_slice).transpose()
        }
        match key {
            Key::Tables => {
                self.tables.docs.insert((), decode(stored)?);
            }
            Key::Day(date) => {
                self.days.docs.insert(*date, decode(stored)?);
            }
            Key::Booking(id) => {
                self.bookings.docs.insert(*id, decode(stored)?);
            }
            Key::BookingLocks(id) => {
                self.locks.docs.insert(*id, decode(stored)?);
            }
            Key::Locator { email, booking } => {
                self.locators
                    .docs
                    .insert((email.clone(), *booking), decode(stored)?);
            }
            Key::LegacyLocator(_) | Key::Busy(_) | Key::Checkpoint(_) => {}
        }
        Ok(())
    }

    /// The documents changed since the last [`Docs::written`], encoded for the store.
    pub fn changed(&self) -> Result<Vec<(Key, Vec<u8>)>, serde_json::Error> {
        let mut changed = Vec::new();
        for ((), doc) in self.tables.changed() {
            changed.push((Key::Tables, serde_json::to_vec(doc)?));
        }
        for (date, doc) in self.days.changed() {
            changed.push((Key::Day(*date), serde_json::to_vec(doc)?));
            // The availability index of the day, derived from it (never loaded back).
            changed.push((Key::Busy(*date), serde_json::to_vec(&BusyView::of(doc))?));
        }
        for (id, doc) in self.bookings.changed() {
            changed.push((Key::Booking(*id), serde_json::to_vec(doc)?));
        }
        for (id, doc) in self.locks.changed() {
            changed.push((Key::BookingLocks(*id), serde_json::to_vec(doc)?));
        }
        for ((email, booking), doc) in self.locators.changed() {
            let key = Key::Locator {
                email: email.clone(),
                booking: *booking,
            };
            changed.push((key, serde_json::to_vec(doc)?));
        }
        Ok(changed)
    }

    /// Everything changed is now stored.
    pub fn written(&mut self) {
        self.tables.dirty.clear();
        self.days.dirty.clear();
        self.bookings.dirty.clear();
        self.locks.dirty.clear();
        self.locators.dirty.clear();
    }

    /// How many documents are in hand.
    pub fn len(&self) -> usize {
        self.tables.docs.len()
            + self.days.docs.len()
            + self.bookings.docs.len()
            + self.locks.docs.len()
            + self.locators.docs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Forgets every document: after a failed write the store is the truth again, and a
    /// cache that grew too large starts over.
    pub fn clear(&mut self) {
        self.tables.clear();
        self.days.clear();
        self.bookings.clear();
        self.locks.clear();
        self.locators.clear();
    }

    pub fn tables(&self) -> Option<&TablesView> {
        self.tables.get(&())
    }

    pub fn day(&self, date: Date) -> Option<&DayView> {
        self.days.get(&date)
    }

    pub fn booking(&self, id: BookingId) -> Option<&BookingView> {
        self.bookings.get(&id)
    }

    pub fn booking_locks(&self, id: BookingId) -> Option<&BookingLocksView> {
        self.locks.get(&id)
    }

    /// The locator entry of a booking made with `email`.
    pub fn locator(&self, email: &str, booking: BookingId) -> Option<&LocatorEntry> {
        self.locators.get(&(email_digest(email), booking))
    }
}
