//! hotspot-bench: the two hot spots of issue 11, through the booker and table-manager
//! (in-process, release build) on a private nats-server.
//!
//! 1. `--contenders` concurrent `POST /bookings?wait=30` of one table and slot: how long
//!    until all are decided, and what they got (one 201 and the rest `409 slot-taken` is
//!    right; a 202 or a `timeout` is the hot spot showing).
//! 2. Confirmation latency of real bookings (`POST /bookings`, 201) alone, then while a
//!    flood of `--flood` bookings of made-up tables (`wait=0`) is under way: the baseline
//!    and the figure under flood come from the same run.
//!
//! Rule: prints figures, asserts nothing. Run it in release mode:
//! `cargo run --release -p bench --bin hotspot-bench -- --help`

#![allow(clippy::print_stdout)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bench::{booking_requests, measure, print};
use clap::Parser;
use futures_util::future::join_all;

#[derive(Debug, Parser)]
#[command(about = "One slot wanted by many; real bookings during a flood of made-up tables")]
struct Args {
    /// Concurrent bookings of one table and slot.
    #[arg(long, default_value_t = 1_000)]
    contenders: usize,
    /// Real bookings timed, alone and during the flood.
    #[arg(long, default_value_t = 400)]
    bookings: usize,
    /// Bookings of made-up tables fired during the second run.
    #[arg(long, default_value_t = 5_000)]
    flood: usize,
    /// Real bookings in flight at once.
    #[arg(long, default_value_t = 8)]
    in_flight: usize,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let tables = 20;
    let mut system = bench::system(tables, false).await;
    let (base, http) = (system.base.clone(), system.http.clone());

    // 1. Everyone wants b0 at the first slot of the requests.
    let requests = booking_requests(args.bookings * 2 + tables, tables, false)?;
    let contested = requests[0].clone();
    let url = format!("{base}/bookings?wait=30");
    let started = Instant::now();
    let answers = join_all((0..args.contenders).map(|_| {
        let (http, url, body) = (http.clone(), url.clone(), contested.clone());
        async move {
            let t = Instant::now();
            let response = http.post(&url).json(&body).send().await?;
            let status = response.status().as_u16();
            let body: serde_json::Value = response.json().await?;
            let reason = body["booking"]["reason"].as_str().unwrap_or("-").to_owned();
            anyhow::Ok((format!("{status} {reason}"), t.elapsed()))
        }
    }))
    .await;
    let all_decided = started.elapsed();
    let mut outcomes: BTreeMap<String, usize> = BTreeMap::new();
    let mut latencies = Vec::new();
    for answer in answers {
        let (outcome, latency) = answer?;
        *outcomes.entry(outcome).or_default() += 1;
        latencies.push(latency);
    }
    let contention = bench::figures("one table and slot, all at once", all_decided, latencies);
    println!(
        "{} concurrent bookings of one table and slot: all answered in {:.2} s; {outcomes:?}",
        args.contenders,
        all_decided.as_secs_f64()
    );

    // 2. Real bookings (distinct tables and slots, after the contested one), alone...
    let real = Arc::new(requests[tables..].to_vec());
    let endpoint = format!("{base}/bookings");
    let book = |offset: usize| {
        let (client, work, endpoint) = (http.clone(), real.clone(), endpoint.clone());
        move |i: usize| {
            let (client, work, endpoint) = (client.clone(), work.clone(), endpoint.clone());
            async move {
                let response = client
                    .post(&endpoint)
                    .json(&work[offset + i])
                    .send()
                    .await?;
                let status = response.status();
                anyhow::ensure!(status == 201, "booking {i} answered {status}");
                Ok(())
            }
        }
    };
    let alone = measure(
        "real bookings, alone -> 201",
        args.bookings,
        args.in_flight,
        book(0),
    )
    .await?;
    // ... and while a flood of made-up tables goes on.
    let flood_url = format!("{base}/bookings?wait=0");
    let ghost = requests[0]["timeSlot"].clone();
    let flooding = tokio::spawn({
        let http = http.clone();
        async move {
            let started = Instant::now();
            let sent = join_all((0..args.flood).map(|i| {
                let (http, url) = (http.clone(), flood_url.clone());
                let body = serde_json::json!({"tableId": format!("ghost-{i}"),
                    "timeSlot": ghost.clone(), "people": 2});
                async move { http.post(&url).json(&body).send().await.map(|r| r.status()) }
            }))
            .await;
            let mut answers: BTreeMap<String, usize> = BTreeMap::new();
            for answer in &sent {
                let key = answer
                    .as_ref()
                    .map_or("not sent".to_owned(), ToString::to_string);
                *answers.entry(key).or_default() += 1;
            }
            (started.elapsed(), answers)
        }
    });
    // Let the flood reach the streams first.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let during = measure(
        "real bookings, during the flood -> 201",
        args.bookings,
        args.in_flight,
        book(args.bookings),
    )
    .await?;
    let (flood_sent, flood_answers) = flooding.await?;
    print(&[contention, alone, during]);
    println!(
        "flood: {} made-up-table bookings answered in {:.2} s: {flood_answers:?}",
        args.flood,
        flood_sent.as_secs_f64()
    );
    system.stop_services().await;
    Ok(())
}
