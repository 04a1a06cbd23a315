//! What must hold once the system is quiet, read from the event streams themselves (and
//! the read side through the API).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use async_nats::jetstream;
use async_nats::jetstream::consumer::pull::OrderedConfig;
use events::{
    BookingEvent, BookingId, BookingStatus, ChangeRejectionReason, CorrelationId, RejectionReason,
    TableEvent, TableId, TimeSlot,
};
use eventstore::Delivery;
use futures_util::StreamExt as _;
use jiff::Timestamp;

/// The final state of every booking and every table lock, folded from the streams.
#[derive(Debug, Default)]
pub struct Folded {
    pub bookings: HashMap<BookingId, Booking>,
    /// (table, slot start) -> the booking whose lock is held.
    pub locks: BTreeMap<(TableId, Timestamp), BookingId>,
    /// A lock placed while another booking held the same table and slot.
    pub double_locks: Vec<String>,
    /// Places lost to a race and replaced (`table-booking-reassigned`).
    pub reassigned: usize,
    /// Bookings of more than one table.
    pub joined: usize,
    /// Changes that took effect, and changes that did not.
    pub changed: usize,
    pub change_rejected: usize,
    /// Changes rolled back for want of a lock decision in time.
    pub change_timeouts: usize,
    /// Events whose correlation id is not the id of the booking they belong to.
    pub wrong_correlation: Vec<String>,
    /// Every event of each booking, on both streams, in order (to explain a violation).
    pub trails: HashMap<BookingId, Vec<String>>,
    /// Bookings with a change asked for and not decided yet.
    pub changing: BTreeSet<BookingId>,
}

#[derive(Debug, Clone)]
pub struct Booking {
    /// One or more (joined tables).
    pub tables: Vec<TableId>,
    pub slot: TimeSlot,
    pub status: BookingStatus,
    pub reason: Option<RejectionReason>,
}

/// Every message of `stream`, in order; retried while the cluster settles (a node just
/// restarted, a leader being elected).
async fn read_all(js: &jetstream::Context, stream: &str) -> Vec<Delivery> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        match try_read_all(js, stream).await {
            Ok(read) => return read,
            Err(error) => {
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "cannot read {stream}: {error}"
                );
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    }
}

async fn try_read_all(js: &jetstream::Context, stream: &str) -> Result<Vec<Delivery>, String> {
    let mut source = js.get_stream(stream).await.map_err(|e| e.to_string())?;
    let last = source
        .info()
        .await
        .map_err(|e| e.to_string())?
        .state
        .last_sequence;
    if last == 0 {
        return Ok(Vec::new());
    }
    let consumer = source
        .create_consumer(OrderedConfig::default())
        .await
        .map_err(|e| e.to_string())?;
    let mut messages = consumer.messages().await.map_err(|e| e.to_string())?;
    let mut read = Vec::new();
    loop {
        let next = tokio::time::timeout(Duration::from_secs(10), messages.next()).await;
        let message = match next {
            Ok(Some(Ok(message))) => message,
            Ok(Some(Err(e))) => return Err(e.to_string()),
            Ok(None) | Err(_) => return Err(format!("{stream} ended before {last}")),
        };
        let delivery = Delivery::of(&message).map_err(|e| e.to_string())?;
        let done = delivery.stream_sequence >= last;
        read.push(delivery);
        if done {
            return Ok(read);
        }
    }
}

pub async fn fold(js: &jetstream::Context) -> Folded {
    let mut folded = Folded::default();
    for delivery in read_all(js, "BOOKINGS").await {
        let recorded = delivery.decode::<BookingEvent>().expect("a booking event");
        correlated(
            &mut folded,
            recorded.event.booking_id(),
            &recorded.metadata,
            &delivery,
        );
        let event = recorded.event;
        match event {
            BookingEvent::Initiated(e) => {
                folded.joined += usize::from(e.table_ids.len() > 1);
                folded.bookings.insert(
                    e.id,
                    Booking {
                        tables: e.table_ids,
                        slot: e.time_slot,
                        status: BookingStatus::Initiated,
                        reason: None,
                    },
                );
            }
            BookingEvent::Confirmed(e) => set(&mut folded, e.id, BookingStatus::Confirmed, None),
            BookingEvent::Rejected(e) => {
                set(&mut folded, e.id, BookingStatus::Rejected, Some(e.reason));
            }
            BookingEvent::Cancelled(e) => set(&mut folded, e.id, BookingStatus::Cancelled, None),
            BookingEvent::Reassigned(e) => {
                folded.reassigned += 1;
                if let Some(booking) = folded.bookings.get_mut(&e.id) {
                    booking.tables = e.table_ids;
                }
            }
            // The soak erases no one; an erasure changes no status anyway.
            BookingEvent::CustomerErased(_) => {}
            BookingEvent::ChangeRequested(e) => {
                folded.changing.insert(e.id);
            }
            BookingEvent::Changed(e) => {
                folded.changing.remove(&e.id);
                folded.changed += 1;
                if let Some(booking) = folded.bookings.get_mut(&e.id) {
                    booking.tables = e.to.table_ids;
                    booking.slot = e.to.time_slot;
                }
            }
            BookingEvent::ChangeRejected(e) => {
                folded.changing.remove(&e.id);
                folded.change_rejected += 1;
                folded.change_timeouts += usize::from(e.reason == ChangeRejectionReason::Timeout);
            }
        }
    }
    for delivery in read_all(js, "TABLES").await {
        let recorded = delivery.decode::<TableEvent>().expect("a table event");
        let event = recorded.event;
        match event {
            TableEvent::LockPlaced(e) => {
                correlated(&mut folded, e.booking_id, &recorded.metadata, &delivery);
                let key = (e.id.clone(), e.time_slot.from());
                if let Some(holder) = folded.locks.insert(key, e.booking_id)
                    && holder != e.booking_id
                {
                    folded.double_locks.push(format!(
                        "{} at {}: {holder} and {}",
                        e.id,
                        e.time_slot.from(),
                        e.booking_id
                    ));
                }
            }
            TableEvent::LockRemoved(e) => {
                correlated(&mut folded, e.booking_id, &recorded.metadata, &delivery);
                let key = (e.id.clone(), e.time_slot.from());
                if folded.locks.get(&key) == Some(&e.booking_id) {
                    folded.locks.remove(&key);
                }
            }
            TableEvent::LockPlacementFailed(e) => {
                correlated(&mut folded, e.booking_id, &recorded.metadata, &delivery);
            }
            _ => {}
        }
    }
    folded
}

/// Notes an event of booking `id` whose correlation id is another, and keeps the event in
/// the booking's trail.
fn correlated(folded: &mut Folded, id: BookingId, metadata: &events::Metadata, at: &Delivery) {
    let payload = String::from_utf8_lossy(&at.payload);
    let payload: String = payload.chars().take(300).collect();
    folded.trails.entry(id).or_default().push(format!(
        "{} #{} at {} {}: {payload}",
        at.subject, at.stream_sequence, at.stored_at, metadata.event_type
    ));
    if metadata.correlation_id != CorrelationId::from(id) {
        folded.wrong_correlation.push(format!(
            "{} at {} ({}) carries correlation id {}, not {id}",
            metadata.event_type, at.stream_sequence, at.subject, metadata.correlation_id
        ));
    }
}

fn set(folded: &mut Folded, id: BookingId, status: BookingStatus, reason: Option<RejectionReason>) {
    if let Some(booking) = folded.bookings.get_mut(&id) {
        booking.status = status;
        booking.reason = reason;
    }
}

impl Folded {
    /// The trails of the bookings named in `violations`, to print with them.
    pub fn explain(&self, violations: &[String]) -> Vec<String> {
        let mut named: BTreeSet<BookingId> = BTreeSet::new();
        for violation in violations {
            for word in violation.split(|c: char| !(c.is_ascii_hexdigit() || c == '-')) {
                if let Ok(id) = BookingId::parse(word) {
                    named.insert(id);
                }
            }
        }
        let mut lines = Vec::new();
        for id in named.into_iter().take(5) {
            lines.push(format!("events of booking {id}:"));
            for event in self.trails.get(&id).into_iter().flatten() {
                lines.push(format!("    {event}"));
            }
        }
        lines
    }

    /// Bookings still `initiated`, and changes not decided.
    pub fn pending(&self) -> usize {
        self.bookings
            .values()
            .filter(|b| b.status == BookingStatus::Initiated)
            .count()
            + self.changing.len()
    }

    /// Confirmed bookings that stand, by (table, slot start); more than one is a double
    /// booking.
    pub fn confirmed(&self) -> BTreeMap<(TableId, Timestamp), Vec<BookingId>> {
        let mut confirmed: BTreeMap<_, Vec<BookingId>> = BTreeMap::new();
        for (id, booking) in &self.bookings {
            if booking.status == BookingStatus::Confirmed {
                for table in &booking.tables {
                    confirmed
                        .entry((table.clone(), booking.slot.from()))
                        .or_default()
                        .push(*id);
                }
            }
        }
        confirmed
    }

    /// Where the streams break a promise a client was given: a booking answered 201 that
    /// is not confirmed with its tables locked (unless a cancel of it was asked, and it is
    /// cancelled), a cancel answered 200 that is not cancelled with its locks released.
    pub fn broken_promises(&self, acks: &crate::load::Acks) -> Vec<String> {
        let cancel_asked: BTreeSet<&str> = acks.cancel_asked.iter().map(String::as_str).collect();
        let held: BTreeMap<&BookingId, Vec<&(TableId, Timestamp)>> =
            self.locks
                .iter()
                .fold(BTreeMap::new(), |mut held, (key, id)| {
                    held.entry(id).or_default().push(key);
                    held
                });
        let mut found = Vec::new();
        for raw in &acks.booked {
            let Some((id, booking)) = BookingId::parse(raw)
                .ok()
                .and_then(|id| Some((id, self.bookings.get(&id)?)))
            else {
                found.push(format!(
                    "booking {raw} was answered 201 but is not in BOOKINGS"
                ));
                continue;
            };
            match booking.status {
                BookingStatus::Confirmed => {
                    for table in &booking.tables {
                        let key = (table.clone(), booking.slot.from());
                        if self.locks.get(&key) != Some(&id) {
                            found.push(format!(
                                "booking {id} was answered 201 and is confirmed, but {table} \
                                 at {} is not locked for it",
                                booking.slot.from()
                            ));
                        }
                    }
                }
                BookingStatus::Cancelled if cancel_asked.contains(raw.as_str()) => {}
                other => found.push(format!(
                    "booking {id} was answered 201 but is {}",
                    other.name()
                )),
            }
        }
        for raw in &acks.cancelled {
            let Ok(id) = BookingId::parse(raw) else {
                found.push(format!("cancel of {raw} answered 200: not a booking id"));
                continue;
            };
            match self.bookings.get(&id).map(|b| b.status) {
                Some(BookingStatus::Cancelled) => {}
                other => found.push(format!(
                    "cancel of {id} was answered 200 but the booking is {other:?}"
                )),
            }
            if let Some(keys) = held.get(&id) {
                found.push(format!(
                    "cancel of {id} was answered 200 but it still holds {keys:?}"
                ));
            }
        }
        found.extend(self.wrong_correlation.iter().cloned());
        found
    }

    /// What went wrong, one line each; empty when every invariant holds.
    pub fn violations(&self, dead_letters: u64) -> Vec<String> {
        let mut found = self.double_locks.clone();
        let confirmed = self.confirmed();
        for ((table, from), ids) in &confirmed {
            if ids.len() > 1 {
                found.push(format!("double booking of {table} at {from}: {ids:?}"));
            }
            if self.locks.get(&(table.clone(), *from)) != ids.first() {
                found.push(format!(
                    "{table} at {from}: confirmed {ids:?} but lock {:?}",
                    self.locks.get(&(table.clone(), *from))
                ));
            }
        }
        for ((table, from), holder) in &self.locks {
            if !confirmed.contains_key(&(table.clone(), *from)) {
                let status = self.bookings.get(holder).map(|b| b.status);
                found.push(format!(
                    "{table} at {from} is locked for {holder} ({status:?}), no confirmed booking"
                ));
            }
        }
        let pending = self.pending();
        if pending > 0 {
            found.push(format!(
                "{pending} bookings or changes never reached a final status"
            ));
        }
        if self.change_timeouts > 0 {
            found.push(format!(
                "{} changes rolled back for a timeout",
                self.change_timeouts
            ));
        }
        let timeouts = self
            .bookings
            .values()
            .filter(|b| b.reason == Some(RejectionReason::Timeout))
            .count();
        if timeouts > 0 {
            found.push(format!("{timeouts} bookings rejected with timeout"));
        }
        if dead_letters > 0 {
            found.push(format!("{dead_letters} dead letters"));
        }
        found
    }

    /// How the bookings ended, by status and reason.
    pub fn outcomes(&self) -> BTreeMap<String, usize> {
        let mut outcomes = BTreeMap::new();
        for booking in self.bookings.values() {
            let name = match booking.reason {
                Some(reason) => format!("{} {}", booking.status.name(), reason.name()),
                None => booking.status.name().to_owned(),
            };
            *outcomes.entry(name).or_default() += 1;
        }
        outcomes
    }
}
