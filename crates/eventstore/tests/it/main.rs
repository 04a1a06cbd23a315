//! The event store against a real nats-server (one per test, from the test kit).

mod append;
mod consumer;
mod dead_letters;
mod failures;
mod repository;

use events::{CausationId, CommandId, CorrelationId, Seats, TableAdded, TableEvent, TableId};
use eventstore::{AppendContext, EventStore, StoreMetrics, StreamSettings};
use testkit::NatsServer;

/// A running server with our streams, and a store on it.
#[derive(Debug)]
pub struct Env {
    pub server: NatsServer,
    pub store: EventStore,
}

pub async fn env() -> Env {
    let server = NatsServer::start().await;
    let store = EventStore::new(server.client().await, StoreMetrics::default());
    eventstore::ensure_streams(
        store.jetstream(),
        &["TABLES", "BOOKINGS", "DEAD_LETTERS"],
        StreamSettings::default(),
    )
    .await
    .expect("streams");
    Env { server, store }
}

pub fn table(id: &str) -> TableId {
    TableId::parse(id).expect("table id")
}

pub fn added(id: &str, seats: u64) -> TableEvent {
    TableAdded {
        id: table(id),
        seats: Seats::new(seats).expect("seats"),
    }
    .into()
}

pub fn context(command: &str) -> AppendContext {
    AppendContext {
        command_id: CommandId::new(command).expect("command id"),
        correlation_id: CorrelationId::new(),
        causation_id: CausationId::new(),
    }
}
