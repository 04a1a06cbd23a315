//! projector-bench: how fast the read models follow the event log.
//!
//! On a private nats-server with booker and table-manager in-process (release build), it
//! makes `--bookings` confirmed bookings with no projector running, then prints:
//! - the raw read speed of both streams (an ordered consumer that only counts), the
//!   baseline measured in the same run;
//! - a projector started on that backlog: events/s until it has caught up (a burst);
//! - `projector rebuild` of everything into a fresh generation: events/s;
//! - at moderate load (`--in-flight` requests), the time from the `201 confirmed` answer to
//!   the booking reading `confirmed` through `GET /bookings/{id}`.
//!
//! Rule: prints figures, asserts nothing.
//! `cargo run --release -p bench --bin projector-bench -- --help`

#![allow(clippy::print_stdout)]

use std::time::{Duration, Instant};

use anyhow::Context as _;
use async_nats::jetstream;
use bench::booking_requests;
use clap::Parser;
use futures_util::StreamExt as _;
use serde_json::Value;

#[derive(Debug, Parser)]
#[command(about = "Projection lag, catch-up and rebuild speed of the read models")]
struct Args {
    /// Bookings in the backlog (each confirmed: about 3 events per booking).
    #[arg(long, default_value_t = 8_000)]
    bookings: usize,
    /// Bookings whose visibility is timed, made one after the other per worker.
    #[arg(long, default_value_t = 400)]
    visible: usize,
    /// Requests in flight while timing visibility (moderate load).
    #[arg(long, default_value_t = 4)]
    in_flight: usize,
    /// Tables to spread the bookings over.
    #[arg(long, default_value_t = 40)]
    tables: usize,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let mut system = bench::system(args.tables, false).await;
    let url = system.nats.url();
    let (base, http) = (system.base.clone(), system.http.clone());
    let jobs = booking_requests(args.bookings + args.visible, args.tables, true)?;

    // The backlog, made while no projector runs.
    let started = Instant::now();
    let endpoint = format!("{base}/bookings");
    futures_util::stream::iter(jobs[..args.bookings].iter())
        .map(|job| {
            let (http, endpoint) = (http.clone(), endpoint.clone());
            async move {
                let status = http.post(&endpoint).json(job).send().await?.status();
                anyhow::ensure!(status == 201, "a booking answered {status}");
                anyhow::Ok(())
            }
        })
        .buffer_unordered(64)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<anyhow::Result<Vec<()>>>()?;
    println!(
        "backlog: {} bookings made in {:.1} s",
        args.bookings,
        started.elapsed().as_secs_f64()
    );

    let client = async_nats::connect(&url).await.context("connect")?;
    let js = jetstream::new(client);
    let total_events = last_sequence(&js, "TABLES").await? + last_sequence(&js, "BOOKINGS").await?;

    // Baseline: reading both streams, doing nothing with the events.
    let started = Instant::now();
    let mut read = 0u64;
    for stream in ["TABLES", "BOOKINGS"] {
        read += raw_read(&js, stream).await?;
    }
    let raw = per_second(read, started.elapsed());

    // A projector started on the backlog: the burst it has to absorb.
    let started = Instant::now();
    system.start_projector().await;
    system.wait_until_projected().await;
    let catch_up = per_second(total_events, started.elapsed());

    let rebuilt = projector::rebuild(&system.projector_config()).await?;
    // The running projector switches to the new generation; let it settle.
    tokio::time::sleep(Duration::from_millis(500)).await;

    // Moderate load: time from 201 to visible in GET /bookings/{id}.
    let visible_jobs = jobs[args.bookings..].to_vec();
    let started = Instant::now();
    let latencies: Vec<Duration> = futures_util::stream::iter(visible_jobs)
        .map(|job| {
            let (http, base) = (http.clone(), base.clone());
            async move {
                let response = http
                    .post(format!("{base}/bookings"))
                    .json(&job)
                    .send()
                    .await?;
                anyhow::ensure!(
                    response.status() == 201,
                    "a booking answered {}",
                    response.status()
                );
                let confirmed_at = Instant::now();
                let body: Value = response.json().await?;
                let id = body["id"].as_str().context("id")?.to_owned();
                loop {
                    let read: Value = http
                        .get(format!("{base}/bookings/{id}"))
                        .send()
                        .await?
                        .json()
                        .await
                        .unwrap_or(Value::Null);
                    if read["status"] == "confirmed" {
                        return anyhow::Ok(confirmed_at.elapsed());
                    }
                    anyhow::ensure!(
                        confirmed_at.elapsed() < Duration::from_secs(10),
                        "never visible"
                    );
                    tokio::time::sleep(Duration::from_micros(500)).await;
                }
            }
        })
        .buffer_unordered(args.in_flight)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<anyhow::Result<_>>()?;
    let visibility = bench::figures(
        "201 confirmed -> GET shows confirmed",
        started.elapsed(),
        latencies,
    );

    system.stop().await;

    println!();
    println!("events in the log                          {total_events:>10}");
    println!("raw read of both streams (baseline)        {raw:>10.0} events/s");
    println!(
        "projector catching up on the backlog       {catch_up:>10.0} events/s  ({:.2} of raw read)",
        catch_up / raw
    );
    println!(
        "rebuild into a fresh generation            {:>10.0} events/s  ({:.2} of raw read, {} events in {:.2} s)",
        rebuilt.events_per_second(),
        rebuilt.events_per_second() / raw,
        rebuilt.events,
        rebuilt.elapsed.as_secs_f64()
    );
    println!(
        "visibility at {} in flight: p50 {:.1} ms, p99 {:.1} ms over {} bookings",
        args.in_flight,
        visibility.p50.as_secs_f64() * 1e3,
        visibility.p99.as_secs_f64() * 1e3,
        visibility.ops
    );
    Ok(())
}

fn per_second(events: u64, elapsed: Duration) -> f64 {
    events as f64 / elapsed.as_secs_f64().max(1e-9)
}

async fn last_sequence(js: &jetstream::Context, stream: &str) -> anyhow::Result<u64> {
    Ok(js
        .get_stream(stream)
        .await?
        .info()
        .await?
        .state
        .last_sequence)
}

/// Reads a whole stream with an ordered consumer; the number of messages.
async fn raw_read(js: &jetstream::Context, stream: &str) -> anyhow::Result<u64> {
    let last = last_sequence(js, stream).await?;
    let consumer = js
        .get_stream(stream)
        .await?
        .create_consumer(jetstream::consumer::pull::OrderedConfig::default())
        .await?;
    let mut messages = consumer.messages().await?;
    let mut read = 0;
    while let Some(message) = messages.next().await {
        let message = message?;
        read += 1;
        if message
            .info()
            .map_err(|e| anyhow::anyhow!("{e}"))?
            .stream_sequence
            >= last
        {
            break;
        }
    }
    Ok(read)
}
