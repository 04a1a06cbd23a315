//! Where a booking's time goes: each booking's path cut into steps by the times the
//! streams recorded (the server's clock, the same machine as the client's):
//!
//! 1. `POST -> initiated stored`: the HTTP request, the edge (idempotency, guessing
//!    limits, sealing), the place, and the append's round trip;
//! 2. `initiated -> lock stored`: delivery to table-manager's locking consumer, the
//!    table's load and decision, the lock's append;
//! 3. `lock -> confirmed stored`: delivery to the booker's saga, the booking's decision,
//!    the confirmation's append;
//! 4. `confirmed -> 201 received`: the outcome reaching the waiting request, the answer.

#![allow(clippy::print_stdout)]

use std::collections::HashMap;
use std::time::Duration;

use async_nats::jetstream::{self, consumer::pull};
use events::{BookingEvent, BookingId, TableEvent};
use eventstore::Recorded;
use futures_util::StreamExt;
use jiff::Timestamp;

/// One booking as the client saw it: when it was posted, when its 201 came.
#[derive(Debug, Clone, Copy)]
pub struct Posted {
    pub id: BookingId,
    pub sent: Timestamp,
    pub answered: Timestamp,
}

/// When the streams recorded each step of one booking.
#[derive(Debug, Default, Clone, Copy)]
struct Stored {
    initiated: Option<Timestamp>,
    locked: Option<Timestamp>,
    confirmed: Option<Timestamp>,
}

/// Reads `stream` from its start to its end, handing each message to `each`.
async fn read_all(
    js: &jetstream::Context,
    stream: &str,
    mut each: impl FnMut(&jetstream::Message, Timestamp),
) -> anyhow::Result<()> {
    let stream = js.get_stream(stream).await?;
    let consumer = stream
        .create_consumer(pull::OrderedConfig::default())
        .await?;
    let mut messages = consumer.messages().await?;
    while let Some(message) = messages.next().await {
        let message = message?;
        let info = message.info().map_err(|e| anyhow::anyhow!("{e}"))?;
        let stored = Timestamp::from_nanosecond(info.published.unix_timestamp_nanos())?;
        let pending = info.pending;
        each(&message, stored);
        if pending == 0 {
            break;
        }
    }
    Ok(())
}

/// The step times of the `posted` bookings, from the streams of the server at `url`.
pub async fn breakdown(url: &str, posted: &[Posted]) -> anyhow::Result<Vec<(String, Steps)>> {
    let js = jetstream::new(async_nats::connect(url).await?);
    let mut stored: HashMap<BookingId, Stored> = HashMap::with_capacity(posted.len());
    read_all(&js, events::names::BOOKINGS_STREAM, |message, at| {
        let decoded = Recorded::<BookingEvent>::decode(
            &message.subject,
            0,
            message.headers.as_ref(),
            &message.payload,
        );
        match decoded.map(|r| r.event) {
            Ok(BookingEvent::Initiated(e)) => stored.entry(e.id).or_default().initiated = Some(at),
            Ok(BookingEvent::Confirmed(e)) => stored.entry(e.id).or_default().confirmed = Some(at),
            _ => {}
        }
    })
    .await?;
    read_all(&js, events::names::TABLES_STREAM, |message, at| {
        let decoded = Recorded::<TableEvent>::decode(
            &message.subject,
            0,
            message.headers.as_ref(),
            &message.payload,
        );
        if let Ok(TableEvent::LockPlaced(e)) = decoded.map(|r| r.event) {
            let entry = stored.entry(e.booking_id).or_default();
            entry.locked = entry.locked.or(Some(at));
        }
    })
    .await?;
    let mut steps: [Vec<Duration>; 5] = Default::default();
    for post in posted {
        let Some(Stored {
            initiated: Some(initiated),
            locked: Some(locked),
            confirmed: Some(confirmed),
        }) = stored.get(&post.id).copied()
        else {
            continue;
        };
        let points = [post.sent, initiated, locked, confirmed, post.answered];
        for (step, pair) in points.windows(2).enumerate() {
            steps[step].push(between(pair[0], pair[1]));
        }
        steps[4].push(between(post.sent, post.answered));
    }
    let names = [
        "POST -> initiated stored",
        "initiated -> lock stored",
        "lock -> confirmed stored",
        "confirmed -> 201 received",
        "POST -> 201 (whole)",
    ];
    Ok(names
        .into_iter()
        .zip(steps)
        .map(|(name, durations)| (name.to_owned(), Steps::of(durations)))
        .collect())
}

fn between(from: Timestamp, to: Timestamp) -> Duration {
    Duration::try_from(to.duration_since(from)).unwrap_or(Duration::ZERO)
}

/// Percentiles of one step over the bookings.
#[derive(Debug, Clone, Copy)]
pub struct Steps {
    pub count: usize,
    pub mean: Duration,
    pub p50: Duration,
    pub p99: Duration,
}

impl Steps {
    fn of(mut durations: Vec<Duration>) -> Self {
        durations.sort_unstable();
        let pick = |q: f64| {
            let index = ((durations.len() as f64 - 1.0) * q).round() as usize;
            durations.get(index).copied().unwrap_or_default()
        };
        let total: Duration = durations.iter().sum();
        let count = durations.len();
        Self {
            count,
            mean: total / u32::try_from(count.max(1)).unwrap_or(u32::MAX),
            p50: pick(0.5),
            p99: pick(0.99),
        }
    }
}

/// Prints the breakdown as a table.
pub fn print(rows: &[(String, Steps)]) {
    println!(
        "{:<42} {:>8} {:>9} {:>9} {:>9}",
        "step of a booking", "count", "mean ms", "p50 ms", "p99 ms"
    );
    for (name, steps) in rows {
        println!(
            "{:<42} {:>8} {:>9.3} {:>9.3} {:>9.3}",
            name,
            steps.count,
            steps.mean.as_secs_f64() * 1e3,
            steps.p50.as_secs_f64() * 1e3,
            steps.p99.as_secs_f64() * 1e3
        );
    }
}
