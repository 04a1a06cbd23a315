//! Shared parts of the benchmark programs: timing many calls and printing the figures.
//!
//! Rule: benchmarks print figures and assert nothing.

#![allow(clippy::print_stdout)]

use std::sync::Arc;
use std::time::{Duration, Instant};

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

/// A booking-sized event: what `POST /bookings` appends.
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
