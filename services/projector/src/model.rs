//! How events change the read models. Pure: no I/O, no clock; the projection loads the
//! documents an event needs into [`Docs`], applies it here, and writes back what changed.
//!
//! Documents remember the stream sequences they have applied, so replaying the events
//! after the checkpoint (after a crash between writing documents and the checkpoint) ends
//! in the same documents: a booking or table never goes back to an older state, and a
//! history never lists an event twice.

use events::read_model::{
    BookingView, CombinationView, DayView, HistoryEntry, Key, LocatorEntry, LockView, TableView,
    day_of, email_digest,
};
use events::{
    BookingEvent, BookingStatus, DomainEvent, Metadata, TableBookingInitiated, TableEvent,
};

mod docs;

pub use docs::Docs;

/// The documents a table event changes, to load before applying it.
pub fn table_keys(event: &TableEvent) -> Vec<Key> {
    match event {
        TableEvent::Added(_)
        | TableEvent::Removed(_)
        | TableEvent::CombinationAdded(_)
        | TableEvent::CombinationRemoved(_) => vec![Key::Tables],
        TableEvent::LockPlaced(e) => vec![
            Key::Day(day_of(&e.time_slot)),
            Key::BookingLocks(e.booking_id),
        ],
        TableEvent::LockRemoved(e) => vec![
            Key::Day(day_of(&e.time_slot)),
            Key::BookingLocks(e.booking_id),
        ],
        TableEvent::LockPlacementFailed(e) => vec![Key::BookingLocks(e.booking_id)],
    }
}

/// The documents a booking event changes, to load before applying it.
pub fn booking_keys(event: &BookingEvent) -> Vec<Key> {
    let mut keys = vec![Key::Booking(event.booking_id())];
    if let BookingEvent::Initiated(e) = event
        && let Some(email) = locator_digest(e)
    {
        keys.push(Key::Locator {
            email,
            booking: e.id,
        });
    }
    keys
}

/// What a booking is found by in lookups: the keyed digest of its email the booker wrote,
/// or for a booking of an earlier release the plain digest of its email in clear.
fn locator_digest(e: &TableBookingInitiated) -> Option<String> {
    e.email_digest
        .clone()
        .or_else(|| Some(email_digest(&e.customer.as_ref()?.email)))
}

/// Applies the table event stored at `sequence`.
pub fn apply_table(docs: &mut Docs, sequence: u64, metadata: &Metadata, event: &TableEvent) {
    match event {
        TableEvent::Added(e) => {
            let tables = docs.tables.open(());
            let known = tables.tables.get(&e.id).map_or(0, |t| t.sequence);
            if known < sequence {
                tables.tables.insert(
                    e.id.clone(),
                    TableView {
                        seats: e.seats.get(),
                        removed: false,
                        sequence,
                    },
                );
            }
        }
        TableEvent::Removed(e) => {
            if let Some(table) = docs.tables.open(()).tables.get_mut(&e.id)
                && table.sequence < sequence
            {
                table.removed = true;
                table.sequence = sequence;
            }
        }
        TableEvent::CombinationAdded(e) => {
            let tables = docs.tables.open(());
            let known = tables.combinations.get(&e.id).map_or(0, |c| c.sequence);
            if known < sequence {
                tables.combinations.insert(
                    e.id.clone(),
                    CombinationView {
                        tables: e.tables.clone(),
                        seats: e.seats.get(),
                        removed: false,
                        sequence,
                    },
                );
            }
        }
        TableEvent::CombinationRemoved(e) => {
            if let Some(combination) = docs.tables.open(()).combinations.get_mut(&e.id)
                && combination.sequence < sequence
            {
                combination.removed = true;
                combination.sequence = sequence;
            }
        }
        TableEvent::LockPlaced(e) => {
            let day = docs.days.open(day_of(&e.time_slot));
            let name = DayView::lock_name(&e.id, &e.time_slot);
            if day.locks.get(&name).is_none_or(|l| l.sequence < sequence) {
                day.locks.insert(
                    name,
                    LockView {
                        table_id: e.id.clone(),
                        time_slot: e.time_slot,
                        booking_id: e.booking_id,
                        sequence,
                    },
                );
            }
            record(
                &mut docs.locks.open(e.booking_id).events,
                sequence,
                metadata,
                event,
            );
        }
        TableEvent::LockRemoved(e) => {
            let day = docs.days.open(day_of(&e.time_slot));
            let name = DayView::lock_name(&e.id, &e.time_slot);
            if day
                .locks
                .get(&name)
                .is_some_and(|l| l.booking_id == e.booking_id && l.sequence < sequence)
            {
                day.locks.remove(&name);
            }
            record(
                &mut docs.locks.open(e.booking_id).events,
                sequence,
                metadata,
                event,
            );
        }
        TableEvent::LockPlacementFailed(e) => {
            record(
                &mut docs.locks.open(e.booking_id).events,
                sequence,
                metadata,
                event,
            );
        }
    }
}

/// Applies the booking event stored at `sequence`.
pub fn apply_booking(docs: &mut Docs, sequence: u64, metadata: &Metadata, event: &BookingEvent) {
    if let BookingEvent::Initiated(e) = event {
        let applied = docs.booking(e.id).is_some_and(|b| b.sequence >= sequence);
        if !applied {
            let mut view = BookingView {
                id: e.id,
                table_id: e.table_id.clone(),
                table_ids: e.table_ids.clone(),
                time_slot: e.time_slot,
                people: e.people,
                customer: e.customer.clone(),
                sealed_customer: e.sealed_customer.clone(),
                customer_erased: false,
                status: BookingStatus::Initiated,
                reason: None,
                access_code_digest: e.access_code_digest.clone(),
                pending_change: None,
                sequence,
                events: Vec::new(),
            };
            record(&mut view.events, sequence, metadata, event);
            docs.bookings.dirty.insert(e.id);
            docs.bookings.docs.insert(e.id, Some(view));
        }
        if let Some(email) = locator_digest(e) {
            let key = (email, e.id);
            let entry = LocatorEntry {
                access_code_digest: e.access_code_digest.clone(),
            };
            if docs.locators.get(&key) != Some(&entry) {
                docs.locators.dirty.insert(key.clone());
                docs.locators.docs.insert(key, Some(entry));
            }
        }
        return;
    }
    // Later events change a booking that exists; the stream never holds one without its
    // `initiated` event first.
    let id = event.booking_id();
    let Some(Some(view)) = docs.bookings.docs.get_mut(&id) else {
        return;
    };
    if view.sequence >= sequence {
        return;
    }
    {
        match event {
            BookingEvent::Confirmed(e) => {
                view.status = BookingStatus::Confirmed;
                if !e.table_ids.is_empty() {
                    view.table_id = e.table_id.clone();
                    view.table_ids = e.table_ids.clone();
                }
            }
            BookingEvent::Rejected(e) => {
                view.status = BookingStatus::Rejected;
                view.reason = Some(e.reason);
            }
            BookingEvent::Cancelled(_) => view.status = BookingStatus::Cancelled,
            BookingEvent::Reassigned(e) => {
                view.table_id = e.table_id.clone();
                view.table_ids = e.table_ids.clone();
            }
            BookingEvent::CustomerErased(_) => {
                view.customer = None;
                view.sealed_customer = None;
                view.customer_erased = true;
                // Events of earlier releases carried the customer in clear.
                for entry in &mut view.events {
                    if let Some(data) = entry.data.as_object_mut() {
                        data.remove("customer");
                    }
                }
            }
            BookingEvent::ChangeRequested(e) => view.pending_change = Some(e.to.clone()),
            BookingEvent::Changed(e) => {
                view.pending_change = None;
                view.table_id = events::single(&e.to.table_ids);
                view.table_ids = e.to.table_ids.clone();
                view.time_slot = e.to.time_slot;
                view.people = e.to.people;
            }
            BookingEvent::ChangeRejected(_) => view.pending_change = None,
            BookingEvent::Initiated(_) => {}
        }
        view.sequence = sequence;
        record(&mut view.events, sequence, metadata, event);
    }
    docs.bookings.dirty.insert(id);
}

/// Adds the event to a history once, in stream order.
fn record<E: DomainEvent>(
    history: &mut Vec<HistoryEntry>,
    sequence: u64,
    metadata: &Metadata,
    event: &E,
) {
    if history.iter().any(|entry| entry.sequence == sequence) {
        return;
    }
    let mut data = event
        .encode()
        .ok()
        .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
        .unwrap_or(serde_json::Value::Null);
    // The digest would let anyone who reads the history try every code offline; the
    // sealed customer and the email digest are for the booker alone.
    if let Some(map) = data.as_object_mut() {
        for field in [
            "accessCodeDigest",
            "sealedCustomer",
            "emailDigest",
            "sealedAccessCode",
        ] {
            map.remove(field);
        }
    }
    history.push(HistoryEntry {
        event_type: metadata.event_type.clone(),
        occurred_at: metadata.occurred_at,
        correlation_id: metadata.correlation_id,
        causation_id: metadata.causation_id,
        data,
        stream: E::STREAM.to_owned(),
        sequence,
    });
    history.sort_by_key(|entry| entry.sequence);
}

#[cfg(test)]
mod tests;
