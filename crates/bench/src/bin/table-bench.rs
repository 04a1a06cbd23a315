//! table-bench: a lock command on a table with a long history, from a cold cache (a
//! restarted or new replica), with and without snapshots, against a private nats-server.
//! Both come from the same run: without snapshots is the whole-history replay every cold
//! load did before them. A warm command (the table in the cache) is the floor.
//!
//! Each history is a table added, then bookings of past slots placed and removed at their
//! end (two events each), appended in atomic batches.
//!
//! Rule: prints figures, asserts nothing. Run it in release mode:
//! `cargo run --release -p bench --bin table-bench -- --help`

#![allow(clippy::print_stdout)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use bench::{Figures, figures, print};
use clap::Parser;
use events::{
    BookingId, CorrelationId, LockRemovalCause, Seats, Step, TableAdded, TableEvent, TableId,
    TableLockPlaced, TableLockRemoved, TimeSlot, names,
};
use eventstore::snapshots::{KvSnapshots, SnapshotStore};
use eventstore::{AppendContext, EventLog as _, EventStore, StoreMetrics, StreamSettings};
use jiff::{SignedDuration, Timestamp};
use table_manager::Tables;
use testkit::NatsServer;

#[derive(Debug, Parser)]
#[command(about = "Cold loads of a long-lived table, with and without snapshots")]
struct Args {
    /// History lengths (events) to measure, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1000,10000,100000")]
    histories: Vec<usize>,
    /// Cold commands timed per history and mode.
    #[arg(long, default_value_t = 20)]
    rounds: usize,
}

/// A new request each call (its own id): every command is a new one.
fn context(step: Step) -> AppendContext {
    AppendContext::for_request(step, uuid::Uuid::now_v7(), CorrelationId::new())
}

/// Appends a history of about `events` events to table `id`.
async fn fill(store: &EventStore, id: &TableId, events: usize) -> anyhow::Result<()> {
    let subject = names::table_subject(id);
    let mut batch: Vec<TableEvent> = vec![
        TableAdded {
            id: id.clone(),
            seats: Seats::new(4)?,
        }
        .into(),
    ];
    // Slots two hours apart from 2010 on: 100,000 events end in 2021, all in the past.
    let start: Timestamp = "2010-01-01T11:00:00Z".parse()?;
    for n in 0..(events.saturating_sub(1) / 2) {
        let from = start + SignedDuration::from_hours(2 * n as i64);
        let time_slot = TimeSlot::new(from, from + SignedDuration::from_hours(2))?;
        let booking_id = BookingId::new();
        batch.push(
            TableLockPlaced {
                id: id.clone(),
                time_slot,
                booking_id,
                revision: 0,
            }
            .into(),
        );
        batch.push(
            TableLockRemoved {
                id: id.clone(),
                time_slot,
                booking_id,
                revision: 0,
                cause: LockRemovalCause::SlotEnded,
            }
            .into(),
        );
        if batch.len() >= 200 {
            store
                .append_at(&subject, None, &batch, &context(Step::TableCommand))
                .await?;
            batch.clear();
        }
    }
    if !batch.is_empty() {
        store
            .append_at(&subject, None, &batch, &context(Step::TableCommand))
            .await?;
    }
    Ok(())
}

/// Times `rounds` lock commands, each on a fresh `Tables` from `make` (a cold cache), or
/// all on one (warm) when `warm`.
async fn time_commands(
    name: String,
    id: &TableId,
    rounds: usize,
    warm: bool,
    make: impl Fn() -> Tables,
) -> anyhow::Result<Figures> {
    let first: Timestamp = "2030-01-01T11:00:00Z".parse()?;
    let shared = make();
    if warm {
        // Into the cache first: the timed commands find it there.
        let from = first - SignedDuration::from_hours(24);
        let slot = TimeSlot::new(from, from + SignedDuration::from_hours(2))?;
        shared
            .place_lock(id, slot, BookingId::new(), None, &context(Step::PlaceLock))
            .await?;
    }
    let mut latencies = Vec::new();
    let started = Instant::now();
    for round in 0..rounds {
        let fresh;
        let tables = if warm {
            &shared
        } else {
            fresh = make();
            &fresh
        };
        let from = first + SignedDuration::from_hours(24 * (round as i64 + 1));
        let slot = TimeSlot::new(from, from + SignedDuration::from_hours(2))?;
        let t = Instant::now();
        tables
            .place_lock(id, slot, BookingId::new(), None, &context(Step::PlaceLock))
            .await?;
        latencies.push(t.elapsed());
    }
    Ok(figures(&name, started.elapsed(), latencies))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let server = NatsServer::start().await;
    let store = EventStore::new(server.client().await, StoreMetrics::default());
    eventstore::ensure_streams(
        store.jetstream(),
        &[names::TABLES_STREAM],
        StreamSettings::default(),
    )
    .await?;
    let kv = KvSnapshots::open(store.jetstream(), names::TABLE_SNAPSHOTS_BUCKET, 1)
        .await
        .map_err(|e| anyhow::anyhow!("snapshots: {e}"))?;
    let snapshots: Arc<dyn SnapshotStore> = Arc::new(kv);

    let mut rows = Vec::new();
    for (n, &history) in args.histories.iter().enumerate() {
        let id = TableId::parse(&format!("h{n}"))?;
        let filled = Instant::now();
        fill(&store, &id, history).await?;
        println!(
            "table {id}: {history} events appended in {:.1} s",
            filled.elapsed().as_secs_f64()
        );
        let plain = || Tables::new(store.clone());
        let snapshotting = || Tables::new(store.clone()).with_snapshots(snapshots.clone());
        rows.push(
            time_commands(
                format!("{history:>6} events, cold, no snapshot"),
                &id,
                args.rounds,
                false,
                plain,
            )
            .await?,
        );
        // One command leaves the first snapshot; then every cold load starts from one.
        time_commands(String::new(), &id, 1, false, snapshotting).await?;
        rows.push(
            time_commands(
                format!("{history:>6} events, cold, snapshot"),
                &id,
                args.rounds,
                false,
                snapshotting,
            )
            .await?,
        );
        rows.push(
            time_commands(
                format!("{history:>6} events, warm (cached)"),
                &id,
                args.rounds,
                true,
                snapshotting,
            )
            .await?,
        );
    }
    print(&rows);
    tokio::time::sleep(Duration::from_millis(10)).await;
    Ok(())
}
