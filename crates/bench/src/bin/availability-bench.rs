//! availability-bench: `GET /booking-slots` over a 15-day range (the longest API.md
//! allows) with `--tables` tables, every one booked in every slot of those days, through
//! the booker, table-manager and projector (in-process, release build) on a private
//! nats-server. Prints p50/p99 of the query, and of `GET /healthz` on the same server as
//! the floor. Only HTTP: the same program measures any release.
//!
//! Rule: prints figures, asserts nothing. Run it in release mode:
//! `cargo run --release -p bench --bin availability-bench -- --help`

#![allow(clippy::print_stdout)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use bench::{booking_requests, measure, print};
use clap::Parser;

#[derive(Debug, Parser)]
#[command(about = "Availability over 15 fully booked days")]
struct Args {
    /// Tables, each booked in every slot of the 15 days.
    #[arg(long, default_value_t = 1_000)]
    tables: usize,
    /// Queries timed.
    #[arg(long, default_value_t = 200)]
    queries: usize,
    /// Queries in flight at once.
    #[arg(long, default_value_t = 1)]
    in_flight: usize,
    /// Bookings in flight at once while filling the days.
    #[arg(long, default_value_t = 64)]
    booking_in_flight: usize,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let days = 15;
    let mut system = bench::system(args.tables, true).await;
    let (base, http) = (system.base.clone(), system.http.clone());

    // Every table in both slots of days 1..=15 (booking_requests starts tomorrow).
    let count = args.tables * 2 * days;
    let work = Arc::new(booking_requests(count, args.tables, false)?);
    let endpoint = format!("{base}/bookings?wait=30");
    let started = Instant::now();
    let (client, requests) = (http.clone(), work.clone());
    measure("fill", count, args.booking_in_flight, move |i| {
        let (client, requests, endpoint) = (client.clone(), requests.clone(), endpoint.clone());
        async move {
            let status = client
                .post(&endpoint)
                .json(&requests[i])
                .send()
                .await?
                .status();
            anyhow::ensure!(status == 201, "booking {i} answered {status}");
            Ok(())
        }
    })
    .await?;
    println!(
        "{count} bookings made in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    system.wait_until_projected().await;

    let first = work[0]["timeSlot"]["from"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let start: jiff::Timestamp = first.parse()?;
    let zone = jiff::tz::TimeZone::get("Europe/Paris")?;
    let start = start.to_zoned_datetime(zone).date();
    let end = start.checked_add(jiff::Span::new().days(days as i64 - 1))?;
    let query = format!("{base}/booking-slots?startDate={start}&endDate={end}&people=2");
    let check: serde_json::Value = http.get(&query).send().await?.json().await?;
    let free: usize = check["availabilities"]
        .as_array()
        .map(|days| {
            days.iter()
                .flat_map(|d| d["slots"].as_array().cloned().unwrap_or_default())
                .map(|s| s["availableTables"].as_array().map_or(0, Vec::len))
                .sum()
        })
        .unwrap_or_default();
    println!("{start}..{end}: {free} free table-slots (0 when fully booked)");

    let mut rows = Vec::new();
    let (client, health) = (http.clone(), format!("{base}/healthz"));
    rows.push(
        measure(
            "GET /healthz (HTTP alone)",
            args.queries,
            args.in_flight,
            move |_| {
                let (client, health) = (client.clone(), health.clone());
                async move {
                    client.get(&health).send().await?;
                    Ok(())
                }
            },
        )
        .await?,
    );
    let client = http.clone();
    rows.push(
        measure(
            &format!("GET /booking-slots, {} tables, 15 days", args.tables),
            args.queries,
            args.in_flight,
            move |_| {
                let (client, query) = (client.clone(), query.clone());
                async move {
                    let status = client.get(&query).send().await?.status();
                    anyhow::ensure!(status == 200, "booking-slots answered {status}");
                    Ok(())
                }
            },
        )
        .await?,
    );
    print(&rows);
    tokio::time::sleep(Duration::from_millis(10)).await;
    system.stop_services().await;
    Ok(())
}
