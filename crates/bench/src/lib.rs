//! Shared parts of the benchmark programs: timing many calls and printing the figures.
//!
//! Rule: benchmarks print figures and assert nothing.

#![allow(clippy::print_stdout)]

use std::sync::Arc;
use std::time::{Duration, Instant};

pub use system_tests::System;

pub mod steps;

#[derive(Debug)]
pub struct Figures {
    pub name: String,
    pub ops: usize,
    pub per_second: f64,
    pub p50: Duration,
    pub p99: Duration,
}

pub fn figures(name: &str, elapsed: Duration, mut latencies: Vec<Duration>) -> Figures {
    latencies.sort_unstable();
    let pick = |q: f64| {
        let index = ((latencies.len() as f64 - 1.0) * q).round() as usize;
        latencies.get(index).copied().unwrap_or_default()
    };
    Figures {
        name: name.to_owned(),
        ops: latencies.len(),
        per_second: latencies.len() as f64 / elapsed.as_secs_f64(),
        p50: pick(0.50),
        p99: pick(0.99),
    }
}

/// Runs `op` `total` times from `workers` tasks, timing each call.
pub async fn measure<F, Fut>(
    name: &str,
    total: usize,
    workers: usize,
    op: F,
) -> anyhow::Result<Figures>
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = anyhow::Result<()>> + Send,
{
    let op = Arc::new(op);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for worker in 0..workers {
        let op = op.clone();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut i = worker;
            while i < total {
                let t = Instant::now();
                op(i).await?;
                latencies.push(t.elapsed());
                i += workers;
            }
            anyhow::Ok(latencies)
        }));
    }
    let mut latencies = Vec::with_capacity(total);
    for task in tasks {
        latencies.extend(task.await??);
    }
    Ok(figures(name, started.elapsed(), latencies))
}

/// Starts `op` `total` times at a steady `rate` per second (open loop: a call is started
/// on time whether or not the ones before have ended), timing each call.
pub async fn paced<F, Fut>(name: &str, total: usize, rate: f64, op: F) -> anyhow::Result<Figures>
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = anyhow::Result<()>> + Send + 'static,
{
    let op = Arc::new(op);
    let started = Instant::now();
    let interval = Duration::from_secs_f64(1.0 / rate.max(1.0));
    let mut tasks = Vec::with_capacity(total);
    for i in 0..total {
        tokio::time::sleep_until((started + interval * u32::try_from(i)?).into()).await;
        let call = op(i);
        tasks.push(tokio::spawn(async move {
            let t = Instant::now();
            call.await?;
            anyhow::Ok(t.elapsed())
        }));
    }
    let mut latencies = Vec::with_capacity(total);
    for task in tasks {
        latencies.push(task.await??);
    }
    Ok(figures(name, started.elapsed(), latencies))
}

pub fn print(rows: &[Figures]) {
    println!(
        "{:<42} {:>8} {:>12} {:>9} {:>9}",
        "workload", "ops", "ops/s", "p50 ms", "p99 ms"
    );
    for row in rows {
        println!(
            "{:<42} {:>8} {:>12.0} {:>9.3} {:>9.3}",
            row.name,
            row.ops,
            row.per_second,
            row.p50.as_secs_f64() * 1e3,
            row.p99.as_secs_f64() * 1e3
        );
    }
}

/// booker and table-manager (and the projector unless `projector` is false) in-process
/// on a private nats-server, through the system tests' builder, with `tables` tables
/// `b0`, `b1`, ... of 4 seats. Bookings may be made up to ten years ahead.
pub async fn system(tables: usize, projector: bool) -> System {
    let builder = System::builder().horizon_days(3650);
    let builder = if projector {
        builder
    } else {
        builder.without_projector()
    };
    let system = builder.start().await;
    for table in 0..tables {
        system.add_table(&format!("b{table}"), 4).await;
    }
    system
}

/// `count` booking requests for distinct (table, slot) pairs over tables `b0`.. from
/// tomorrow on, so each can be confirmed; with a customer when `customers` is set.
pub fn booking_requests(
    count: usize,
    tables: usize,
    customers: bool,
) -> anyhow::Result<Vec<serde_json::Value>> {
    booking_requests_on(count, tables, customers, 1)
}

/// As [`booking_requests`], for the slots from `first_day` days ahead on.
pub fn booking_requests_on(
    count: usize,
    tables: usize,
    customers: bool,
    first_day: i64,
) -> anyhow::Result<Vec<serde_json::Value>> {
    let mut requests = requests_over(count, tables, first_day)?;
    if customers {
        for (i, request) in requests.iter_mut().enumerate() {
            request["customer"] = serde_json::json!(
                {"name": "Bench", "email": format!("guest{}@example.com", i % 500)});
        }
    }
    Ok(requests)
}

/// CPU time used so far by the process `pid` (all its threads, user and system), from
/// `/proc/<pid>/stat`; `None` where it cannot be read.
pub fn cpu_time(pid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The fields after the command name (which may hold spaces) in parentheses.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // USER_HZ: 100 on Linux.
    Some(Duration::from_millis(ticks * 10))
}

/// `count` requests by party size (two, no table) for the slots from `first_day` days
/// ahead on, `tables` per slot, so that each can be given a table of its own.
pub fn party_requests(
    count: usize,
    tables: usize,
    first_day: i64,
) -> anyhow::Result<Vec<serde_json::Value>> {
    let mut requests = requests_over(count, tables, first_day)?;
    for request in &mut requests {
        if let Some(object) = request.as_object_mut() {
            object.remove("tableId");
        }
    }
    Ok(requests)
}

/// The day after the last one [`booking_requests`] of `count` over `tables` uses.
pub fn days_used(count: usize, tables: usize) -> i64 {
    count.div_ceil(tables * 2) as i64 + 1
}

/// A party of two at `b<i % tables>` in the `i / tables`-th slot from `first_day` on.
fn requests_over(
    count: usize,
    tables: usize,
    first_day: i64,
) -> anyhow::Result<Vec<serde_json::Value>> {
    let zone = jiff::tz::TimeZone::get("Europe/Paris")?;
    let schedule = domain::SlotSchedule::parse("12:00-14:00,19:00-21:00")?;
    let today = jiff::Timestamp::now()
        .to_zoned_datetime(zone.clone())
        .date();
    let mut slots = Vec::new();
    for day in first_day..first_day + days_used(count, tables) {
        let date = today.checked_add(jiff::Span::new().days(day))?;
        slots.extend(schedule.slots_on(date, &zone));
    }
    Ok((0..count)
        .map(|i| {
            let slot = slots[i / tables];
            serde_json::json!({"tableId": format!("b{}", i % tables),
                "timeSlot": {"from": slot.from().to_string(), "to": slot.to().to_string()},
                "people": 2})
        })
        .collect())
}
