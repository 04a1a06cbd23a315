//! booking-bench: bookings per second from `POST /bookings` to `confirmed`, through the
//! booker and table-manager (in-process, release build) on a private nats-server, of a
//! table asked for and (with `--party-size`) by party size, the restaurant giving the
//! table from the read side (the projector runs then, in both rows), next to
//! the JetStream ceiling for the same work measured in the same run: three acked,
//! booking-sized publishes in a row per booking (initiated, lock placed, confirmed).
//!
//! A row of bare HTTP requests (`GET /healthz`) shows what the HTTP layer alone costs here.
//!
//! Rule: prints figures, asserts nothing. Run it in release mode:
//! `cargo run --release -p bench --bin booking-bench -- --help`

#![allow(clippy::print_stdout)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context as _;
use bench::steps::Posted;
use bench::{booking_requests_on, measure, print};
use bytes::Bytes;
use clap::Parser;
use events::BookingId;

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
    /// Each booking with a customer (name and email).
    #[arg(long)]
    customers: bool,
    /// Bookings made first, not measured, so that the rows run on a store with this much
    /// history (spread over the days before the measured ones).
    #[arg(long, default_value_t = 0)]
    history: usize,
    /// Also as many bookings by party size (no table; the restaurant gives one), with
    /// the projector running for both rows.
    #[arg(long)]
    party_size: bool,
    /// Writes a flame graph (SVG) of this process (booker, table-manager, projector and
    /// the HTTP client) while it makes the bookings of the first booking row. Needs a
    /// build with `--features profile` (an in-process sampling profiler, no perf events).
    #[arg(long, value_name = "SVG")]
    flamegraph: Option<std::path::PathBuf>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let mut system = bench::system(args.tables, args.party_size).await;
    let url = system.nats.url();
    let (base, http) = (system.base.clone(), system.http.clone());
    // Each row books days of its own, after those of the rows before.
    let mut next_day = 1;
    let mut days = |count: usize| {
        let first = next_day;
        next_day += bench::days_used(count, args.tables) + 1;
        first
    };
    if args.history > 0 {
        let work = booking_requests_on(
            args.history,
            args.tables,
            args.customers,
            days(args.history),
        )?;
        let (made, _) = confirmed(
            "history (not measured)",
            &system,
            Arc::new(work),
            args.in_flight,
        )
        .await?;
        println!(
            "history: {} bookings made first, {:.0}/s",
            made.ops, made.per_second
        );
    }
    let jobs = Arc::new(booking_requests_on(
        args.bookings,
        args.tables,
        args.customers,
        days(args.bookings),
    )?);
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
    let label = "POST /bookings -> 201 confirmed";
    let profiler = profile::start(args.flamegraph.as_deref())?;
    let nats_pid = system.nats.pid().context("nats-server runs")?;
    let cpu_before = (
        bench::cpu_time(std::process::id()),
        bench::cpu_time(nats_pid),
    );
    let (row, posted) = confirmed(label, &system, jobs, args.in_flight).await?;
    let cpu_after = (
        bench::cpu_time(std::process::id()),
        bench::cpu_time(nats_pid),
    );
    let cpu = cpu_per_booking(cpu_before, cpu_after, posted.len());
    let full_rate = row.per_second;
    rows.push(row);
    profile::finish(profiler, args.flamegraph.as_deref())?;
    let steps = bench::steps::breakdown(&url, &posted).await?;
    // The latency at half the rate just reached, paced rather than as fast as possible.
    let work = Arc::new(booking_requests_on(
        args.bookings,
        args.tables,
        args.customers,
        days(args.bookings),
    )?);
    let label = "POST /bookings -> 201 at half that rate";
    let (client, endpoint) = (system.http.clone(), format!("{}/bookings", system.base));
    rows.push(
        bench::paced(label, work.len(), full_rate / 2.0, move |i| {
            let request = client.post(&endpoint).json(&work[i]);
            async move {
                let status = request.send().await?.status();
                anyhow::ensure!(status == 201, "booking {i} answered {status}");
                Ok(())
            }
        })
        .await?,
    );
    if args.party_size {
        let work = bench::party_requests(args.bookings, args.tables, days(args.bookings))?;
        let label = "POST /bookings by party size -> 201 confirmed";
        rows.push(
            confirmed(label, &system, Arc::new(work), args.in_flight)
                .await?
                .0,
        );
    }
    system.stop_services().await;

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
    println!();
    println!("the first booking row, step by step (times the streams recorded):");
    bench::steps::print(&steps);
    println!();
    println!("{cpu}");
    let ceiling = rows[rows.len() - 1].per_second;
    println!(
        "bookings/s vs ceiling: {:.2} (client, server and services share the same cores)",
        rows[1].per_second / ceiling
    );
    Ok(())
}

/// The CPU time per booking of the first booking row: this process (booker,
/// table-manager and the HTTP client) and nats-server.
fn cpu_per_booking(
    before: (Option<Duration>, Option<Duration>),
    after: (Option<Duration>, Option<Duration>),
    bookings: usize,
) -> String {
    let per = |from: Option<Duration>, to: Option<Duration>| {
        let used = to?.checked_sub(from?)?;
        Some(used.as_secs_f64() * 1e6 / bookings.max(1) as f64)
    };
    match (per(before.0, after.0), per(before.1, after.1)) {
        (Some(process), Some(nats)) => format!(
            "CPU per booking: {:.0} us (services and HTTP client {process:.0} us, nats-server {nats:.0} us)",
            process + nats
        ),
        _ => "CPU per booking: /proc cannot be read here".to_owned(),
    }
}

/// Posts every request of `work` to `POST /bookings`, `in_flight` at once, each answered
/// 201: the figures, and each booking's id with when it was sent and answered.
async fn confirmed(
    label: &str,
    system: &bench::System,
    work: Arc<Vec<serde_json::Value>>,
    in_flight: usize,
) -> anyhow::Result<(bench::Figures, Vec<Posted>)> {
    let (client, endpoint) = (system.http.clone(), format!("{}/bookings", system.base));
    let posted = Arc::new(Mutex::new(Vec::with_capacity(work.len())));
    let answers = posted.clone();
    let figures = measure(label, work.len(), in_flight, move |i| {
        let (client, work, endpoint) = (client.clone(), work.clone(), endpoint.clone());
        let answers = answers.clone();
        async move {
            let sent = jiff::Timestamp::now();
            let response = client.post(&endpoint).json(&work[i]).send().await?;
            let status = response.status();
            anyhow::ensure!(status == 201, "booking {i} answered {status}");
            let body: serde_json::Value = response.json().await?;
            let answered = jiff::Timestamp::now();
            let id = body["id"].as_str().and_then(|id| BookingId::parse(id).ok());
            let id = id.context("a 201 without a booking id")?;
            answers
                .lock()
                .map_err(|_| anyhow::anyhow!("poisoned"))?
                .push(Posted { id, sent, answered });
            Ok(())
        }
    })
    .await?;
    let posted = std::mem::take(&mut *posted.lock().map_err(|_| anyhow::anyhow!("poisoned"))?);
    Ok((figures, posted))
}

/// The flame graph of `--flamegraph`.
#[cfg(feature = "profile")]
mod profile {
    use std::path::Path;

    pub struct Profiler(pprof::ProfilerGuard<'static>);

    /// Starts sampling this process, 999 times a second, when a flame graph is asked for.
    pub fn start(path: Option<&Path>) -> anyhow::Result<Option<Profiler>> {
        let Some(_) = path else { return Ok(None) };
        let guard = pprof::ProfilerGuardBuilder::default()
            .frequency(999)
            .blocklist(&["libc", "libgcc", "pthread", "vdso"])
            .build()?;
        Ok(Some(Profiler(guard)))
    }

    /// Writes what was sampled as an SVG flame graph.
    pub fn finish(profiler: Option<Profiler>, path: Option<&Path>) -> anyhow::Result<()> {
        if let (Some(Profiler(guard)), Some(path)) = (profiler, path) {
            let report = guard.report().build()?;
            report.flamegraph(std::fs::File::create(path)?)?;
            println!("flame graph: {}", path.display());
        }
        Ok(())
    }
}

/// Without the `profile` feature, `--flamegraph` says how to get one.
#[cfg(not(feature = "profile"))]
mod profile {
    use std::path::Path;

    pub struct Profiler;

    pub fn start(path: Option<&Path>) -> anyhow::Result<Option<Profiler>> {
        anyhow::ensure!(
            path.is_none(),
            "--flamegraph needs a build with `--features profile`"
        );
        Ok(None)
    }

    pub fn finish(_profiler: Option<Profiler>, _path: Option<&Path>) -> anyhow::Result<()> {
        Ok(())
    }
}
