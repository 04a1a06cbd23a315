//! booking-bench: bookings per second from `POST /bookings` to `confirmed`, through the
//! booker and table-manager (in-process, release build) on a private nats-server, next to
//! the JetStream ceiling for the same work measured in the same run: three acked,
//! booking-sized publishes in a row per booking (initiated, lock placed, confirmed).
//!
//! A row of bare HTTP requests (`GET /healthz`) shows what the HTTP layer alone costs here.
//!
//! Rule: prints figures, asserts nothing. Run it in release mode:
//! `cargo run --release -p bench --bin booking-bench -- --help`

#![allow(clippy::print_stdout)]

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use bench::{measure, print};
use bytes::Bytes;
use clap::Parser;
use serde_json::json;
use tokio_util::sync::CancellationToken;

#[derive(Debug, Parser)]
#[command(about = "End-to-end booking throughput against the JetStream ceiling")]
struct Args {
    /// Bookings to make (each of a different table and slot, so each is confirmed).
    #[arg(long, default_value_t = 5_000)]
    bookings: usize,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 64)]
    in_flight: usize,
    /// Tables to spread the bookings over.
    #[arg(long, default_value_t = 40)]
    tables: usize,
}

const TOKEN: &str = "bench-token";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let nats = testkit::NatsServer::start().await;
    let shutdown = CancellationToken::new();
    let url = nats.url();

    let tm_config = <table_manager::Config as Parser>::try_parse_from([
        "table-manager",
        "--nats-url",
        &url,
        "--http-addr",
        "127.0.0.1:0",
    ])?;
    let tm = table_manager::App::build(tm_config).await?;
    let tm_ready = format!("http://{}/readyz", tm.local_addr());
    let tm_task = tokio::spawn(tm.run(shutdown.clone()));
    let booker_config = <booker::Config as Parser>::try_parse_from([
        "booker",
        "--nats-url",
        &url,
        "--http-addr",
        "127.0.0.1:0",
        "--admin-token",
        TOKEN,
        "--booking-horizon-days",
        "3650",
    ])?;
    let booker = booker::App::build(booker_config).await?;
    let base = format!("http://{}", booker.local_addr());
    let booker_task = tokio::spawn(booker.run(shutdown.clone()));
    testkit::process::wait_for_status(&tm_ready, 200, Duration::from_secs(30)).await;
    testkit::process::wait_for_status(&format!("{base}/readyz"), 200, Duration::from_secs(30))
        .await;

    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(args.in_flight)
        .build()?;
    for table in 0..args.tables {
        let status = http
            .post(format!("{base}/tables"))
            .bearer_auth(TOKEN)
            .json(&json!({"id": format!("b{table}"), "seats": 4}))
            .send()
            .await?
            .status();
        anyhow::ensure!(status == 201, "adding a table answered {status}");
    }

    // Distinct (table, slot) pairs, from tomorrow on.
    let zone = jiff::tz::TimeZone::get("Europe/Paris")?;
    let schedule = domain::SlotSchedule::parse("12:00-14:00,19:00-21:00")?;
    let today = jiff::Timestamp::now()
        .to_zoned_datetime(zone.clone())
        .date();
    let mut slots = Vec::new();
    let days_needed = args.bookings.div_ceil(args.tables * 2) as i64 + 1;
    for day in 1..=days_needed {
        let date = today.checked_add(jiff::Span::new().days(day))?;
        slots.extend(schedule.slots_on(date, &zone));
    }
    let jobs: Arc<Vec<serde_json::Value>> = Arc::new(
        (0..args.bookings)
            .map(|i| {
                let slot = slots[i / args.tables];
                json!({"tableId": format!("b{}", i % args.tables),
                    "timeSlot": {"from": slot.from().to_string(), "to": slot.to().to_string()},
                    "people": 2})
            })
            .collect(),
    );

    let mut rows = Vec::new();
    // The HTTP floor: the same client and server doing nothing but answering.
    let (client, health) = (http.clone(), format!("{base}/healthz"));
    rows.push(
        measure(
            "GET /healthz (HTTP alone)",
            args.bookings,
            args.in_flight,
            move |_| {
                let (client, health) = (client.clone(), health.clone());
                async move {
                    let status = client.get(&health).send().await?.status();
                    anyhow::ensure!(status == 200, "healthz answered {status}");
                    Ok(())
                }
            },
        )
        .await?,
    );
    let endpoint = format!("{base}/bookings");
    let (client, work) = (http.clone(), jobs.clone());
    rows.push(
        measure(
            "POST /bookings -> 201 confirmed",
            args.bookings,
            args.in_flight,
            move |i| {
                let (client, work, endpoint) = (client.clone(), work.clone(), endpoint.clone());
                async move {
                    let response = client.post(&endpoint).json(&work[i]).send().await?;
                    let status = response.status();
                    anyhow::ensure!(status == 201, "booking {i} answered {status}");
                    Ok(())
                }
            },
        )
        .await?,
    );
    shutdown.cancel();
    booker_task.await??;
    tm_task.await??;

    // The ceiling: the same three appends per booking, raw, acked one after the other.
    let client = async_nats::connect(&url).await.context("connect")?;
    let js = async_nats::jetstream::new(client);
    js.get_or_create_stream(async_nats::jetstream::stream::Config {
        name: "CEILING".into(),
        subjects: vec!["ceiling.>".into()],
        storage: async_nats::jetstream::stream::StorageType::File,
        ..Default::default()
    })
    .await?;
    let payload = Bytes::from(vec![b'x'; 300]);
    rows.push(
        measure(
            "raw JetStream, 3 acked publishes per booking",
            args.bookings,
            args.in_flight,
            move |i| {
                let (js, payload) = (js.clone(), payload.clone());
                async move {
                    for step in 0..3 {
                        js.publish(format!("ceiling.{i}.{step}"), payload.clone())
                            .await?
                            .await?;
                    }
                    Ok(())
                }
            },
        )
        .await?,
    );
    print(&rows);
    println!(
        "bookings/s vs ceiling: {:.2} (client, server and services share the same cores)",
        rows[1].per_second / rows[2].per_second
    );
    Ok(())
}
