//! The two streams a projection reads, and how their events change the read models.

use events::read_model::Key;
use events::{BookingEvent, TableEvent, names};
use eventstore::{Delivery, Recorded};

use crate::model::{self, Docs};

/// Which stream, and how its events change the models.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Tables,
    Bookings,
}

impl Source {
    pub const ALL: [Self; 2] = [Self::Tables, Self::Bookings];

    pub fn stream(self) -> &'static str {
        match self {
            Self::Tables => names::TABLES_STREAM,
            Self::Bookings => names::BOOKINGS_STREAM,
        }
    }

    /// Decodes a stored event: the keys it touches and how to apply it, or why not.
    pub(super) fn decode(self, delivery: &Delivery) -> Result<Event, events::DecodeError> {
        Ok(match self {
            Self::Tables => Event::Table(delivery.decode::<TableEvent>()?),
            Self::Bookings => Event::Booking(delivery.decode::<BookingEvent>()?),
        })
    }
}

pub(super) enum Event {
    Table(Recorded<TableEvent>),
    Booking(Recorded<BookingEvent>),
}

impl Event {
    pub(super) fn keys(&self) -> Vec<Key> {
        match self {
            Self::Table(r) => model::table_keys(&r.event),
            Self::Booking(r) => model::booking_keys(&r.event),
        }
    }

    pub(super) fn apply(&self, docs: &mut Docs) {
        match self {
            Self::Table(r) => model::apply_table(docs, r.sequence, &r.metadata, &r.event),
            Self::Booking(r) => model::apply_booking(docs, r.sequence, &r.metadata, &r.event),
        }
    }
}
