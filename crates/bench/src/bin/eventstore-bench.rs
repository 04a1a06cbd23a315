//! eventstore-bench: appends per second and latency percentiles of our event-store layer
//! next to raw JetStream publishes of the same payload, measured in the same run against
//! the same server, so the overhead of our layer reads as a ratio.
//!
//! Rule: prints figures, asserts nothing. Run it in release mode:
//! `cargo run --release -p bench --bin eventstore-bench -- --help`

#![allow(clippy::print_stdout)]

use anyhow::Context as _;
use async_nats::HeaderMap;
use async_nats::jetstream;
use bench::{Figures, measure, print};
use bytes::Bytes;
use clap::Parser;
use events::{
    AccessCodeDigest, AggregateId as _, BookingEvent, BookingId, Customer, DomainEvent, PartySize,
    Step, TableBookingInitiated, TableId, TimeSlot,
};
use eventstore::{AppendContext, EventLog as _, EventStore, StoreMetrics, StreamSettings};

#[derive(Debug, Parser)]
#[command(about = "Event store vs raw JetStream append benchmark")]
struct Args {
    /// Use this NATS server instead of starting a private one (its BOOKINGS stream gets
    /// benchmark data!).
    #[arg(long, env = "BENCH_NATS_URL")]
    nats_url: Option<String>,
    /// Appends in each sequential run.
    #[arg(long, default_value_t = 3_000)]
    sequential: usize,
    /// Appends in each concurrent run.
    #[arg(long, default_value_t = 30_000)]
    concurrent: usize,
    /// Appends in flight at once in the concurrent runs.
    #[arg(long, default_value_t = 64)]
    in_flight: usize,
}

fn booking_event() -> anyhow::Result<BookingEvent> {
    let from: jiff::Timestamp = "2026-12-24T18:00:00Z".parse()?;
    let to: jiff::Timestamp = "2026-12-24T20:00:00Z".parse()?;
    let table = TableId::parse("table-12")?;
    Ok(TableBookingInitiated {
        id: BookingId::new(),
        table_id: Some(table.clone()),
        table_ids: vec![table],
        combination_id: None,
        assigned: false,
        time_slot: TimeSlot::new(from, to)?,
        people: Some(PartySize::new(4)?),
        customer: Some(Customer {
            name: "Ada Lovelace".into(),
            email: "ada.lovelace@example.com".into(),
        }),
        access_code_digest: AccessCodeDigest::new(
            "9f2b5c0e4d8a7b6c1e3f5a7c9b0d2e4f6a8c0e2f4b6d8a0c2e4f6a8b0c2d4e6f",
        ),
        unknown_table: false,
        sealed_customer: None,
        email_digest: None,
        sealed_access_code: None,
    }
    .into())
}

async fn raw_publish(
    js: jetstream::Context,
    run: &'static str,
    total: usize,
    workers: usize,
    payload: Bytes,
) -> anyhow::Result<Figures> {
    let name = format!("raw JetStream publish, {workers} in flight");
    measure(&name, total, workers, move |i| {
        let (js, payload) = (js.clone(), payload.clone());
        async move {
            let mut headers = HeaderMap::new();
            headers.insert("Nats-Msg-Id", format!("{run}-{i}"));
            js.publish_with_headers(format!("bookings.raw-{run}-{i}"), headers, payload)
                .await?
                .await?;
            Ok(())
        }
    })
    .await
}

/// Raw publishes carrying exactly the headers an append sends (metadata, dedup id and
/// expected sequence): what remains between this and `store_append` is our client code.
async fn raw_publish_same_headers(
    js: jetstream::Context,
    total: usize,
    workers: usize,
    payload: Bytes,
) -> anyhow::Result<Figures> {
    let name = format!("raw publish + our headers, {workers} in flight");
    measure(&name, total, workers, move |i| {
        let (js, payload) = (js.clone(), payload.clone());
        async move {
            let mut headers = HeaderMap::new();
            let id = uuid::Uuid::now_v7().to_string();
            headers.insert("Event-Id", id.as_str());
            headers.insert("Event-Type", "table-booking-initiated");
            headers.insert("Event-Schema-Version", "1");
            headers.insert("Correlation-Id", id.as_str());
            headers.insert("Causation-Id", id.as_str());
            headers.insert("Occurred-At", "2026-11-24T23:50:00.123456789Z");
            headers.insert("Nats-Msg-Id", format!("hdr-{i}-{id}"));
            headers.insert("Nats-Expected-Last-Subject-Sequence", "0");
            // Same subject shape as a real booking aggregate: `bookings.<uuid>`.
            js.publish_with_headers(format!("bookings.{id}"), headers, payload)
                .await?
                .await?;
            Ok(())
        }
    })
    .await
}

async fn store_append(
    store: EventStore,
    total: usize,
    workers: usize,
    event: BookingEvent,
) -> anyhow::Result<Figures> {
    let name = format!("eventstore append, {workers} in flight");
    measure(&name, total, workers, move |_| {
        let (store, event) = (store.clone(), event.clone());
        async move {
            let booking = BookingId::new();
            // Each booking id is new, so each command id is.
            let context =
                AppendContext::for_request(Step::Initiate, booking.as_uuid(), booking.into());
            store
                .append_at(&booking.subject(), Some(0), &[event], &context)
                .await?;
            Ok(())
        }
    })
    .await
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    // The private server (if any) lives until the end of main.
    let (url, _server) = match args.nats_url.clone() {
        Some(url) => (url, None),
        None => {
            let server = testkit::NatsServer::start().await;
            (server.url(), Some(server))
        }
    };
    let client = async_nats::connect(&url)
        .await
        .with_context(|| format!("connect to {url}"))?;
    let store = EventStore::new(client, StoreMetrics::default());
    eventstore::ensure_streams(store.jetstream(), &["BOOKINGS"], StreamSettings::default()).await?;
    let event = booking_event()?;
    let payload = Bytes::from(event.encode()?);
    println!(
        "nats-server at {url}; payload {} bytes; file storage; {} cores",
        payload.len(),
        std::thread::available_parallelism().map_or(0, usize::from)
    );

    // Warm up both paths (connections, stream files, allocator).
    raw_publish(store.jetstream().clone(), "warm", 500, 16, payload.clone()).await?;
    store_append(store.clone(), 500, 16, event.clone()).await?;

    let js = store.jetstream().clone();
    let rows = vec![
        raw_publish(js.clone(), "seq", args.sequential, 1, payload.clone()).await?,
        raw_publish_same_headers(js.clone(), args.sequential, 1, payload.clone()).await?,
        store_append(store.clone(), args.sequential, 1, event.clone()).await?,
        raw_publish(
            js.clone(),
            "con",
            args.concurrent,
            args.in_flight,
            payload.clone(),
        )
        .await?,
        raw_publish_same_headers(js.clone(), args.concurrent, args.in_flight, payload.clone())
            .await?,
        store_append(
            store.clone(),
            args.concurrent,
            args.in_flight,
            event.clone(),
        )
        .await?,
    ];
    print(&rows);
    println!();
    println!(
        "eventstore / raw throughput:              sequential {:.2}, concurrent {:.2}",
        rows[2].per_second / rows[0].per_second,
        rows[5].per_second / rows[3].per_second
    );
    println!(
        "eventstore / raw with the same headers:   sequential {:.2}, concurrent {:.2}",
        rows[2].per_second / rows[1].per_second,
        rows[5].per_second / rows[4].per_second
    );
    Ok(())
}
