//! What the projector reports on `/metrics`: per stream, how far the stream goes and how
//! far the read models have applied it. Lag is the difference; it is not an outage.
//!
//! A family's children are taken with `get_or_create_owned`, never `get_or_create`: the
//! latter returns a guard of the family's lock, and a second touch of the family while it
//! is held deadlocks against a thread creating a new label (a lock-up seen in production:
//! both runtime workers parked, `/healthz` and SIGTERM unanswered). Clippy refuses
//! `get_or_create` in this workspace (`clippy.toml`).

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

type Labels = [(&'static str, &'static str); 1];

/// Cheap to clone: every field is a shared handle.
#[derive(Debug, Clone, Default)]
pub struct Metrics {
    last: Family<Labels, Gauge>,
    applied: Family<Labels, Gauge>,
    lag: Family<Labels, Gauge>,
    events: Family<Labels, Counter>,
    dead_lettered: Family<Labels, Counter>,
    generation: Gauge,
    store_full: Gauge,
}

fn labels(stream: &'static str) -> Labels {
    [("stream", stream)]
}

fn as_gauge(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

impl Metrics {
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "projector_stream_last_sequence",
            "Last sequence stored in the stream, as last seen",
            self.last.clone(),
        );
        registry.register(
            "projector_applied_sequence",
            "Every event of the stream up to this sequence is in the read models",
            self.applied.clone(),
        );
        registry.register(
            "projector_lag_events",
            "Events stored but not yet in the read models",
            self.lag.clone(),
        );
        registry.register(
            "projector_events_applied",
            "Events applied to the read models",
            self.events.clone(),
        );
        registry.register(
            "projector_dead_lettered",
            "Undecodable events sent to the dead-letter stream",
            self.dead_lettered.clone(),
        );
        registry.register(
            "projector_store_full",
            "1 while the read-model bucket is at its limit and writes are refused (the \
             projection waits and retries), else 0",
            self.store_full.clone(),
        );
        registry.register(
            "projector_generation",
            "Generation of the read models being kept up to date",
            self.generation.clone(),
        );
    }

    /// Whether the last write into the read models was refused for want of room.
    pub fn set_store_full(&self, full: bool) {
        self.store_full.set(i64::from(full));
    }

    pub fn set_last(&self, stream: &'static str, sequence: u64) {
        let last = self.last.get_or_create_owned(&labels(stream));
        // A reading from before the last applied batch must not move it back.
        if as_gauge(sequence) > last.get() {
            last.set(as_gauge(sequence));
        }
        self.update_lag(stream);
    }

    pub fn set_applied(&self, stream: &'static str, sequence: u64) {
        self.applied
            .get_or_create_owned(&labels(stream))
            .set(as_gauge(sequence));
        self.set_last(stream, sequence);
    }

    fn update_lag(&self, stream: &'static str) {
        let last = self.last.get_or_create_owned(&labels(stream)).get();
        let applied = self.applied.get_or_create_owned(&labels(stream)).get();
        self.lag
            .get_or_create_owned(&labels(stream))
            .set((last - applied).max(0));
    }

    pub fn count(&self, stream: &'static str, events: u64, dead_lettered: u64) {
        self.events
            .get_or_create_owned(&labels(stream))
            .inc_by(events);
        if dead_lettered > 0 {
            self.dead_lettered
                .get_or_create_owned(&labels(stream))
                .inc_by(dead_lettered);
        }
    }

    pub fn set_generation(&self, generation: u64) {
        self.generation.set(as_gauge(generation));
    }

    /// Starts over at a new generation: its checkpoints are read again.
    pub fn reset_applied(&self) {
        self.applied.clear();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;
    use std::sync::{Arc, Barrier};
    use std::time::Duration;

    use super::*;

    const STREAMS: [&str; 2] = ["bookings", "tables"];

    /// Runs `rounds` rounds in which `threads` threads touch fresh metrics at once (every
    /// label new, as at start-up, after a NATS restart or a rebuild); fails instead of
    /// hanging if a round does not finish.
    fn touch_fresh_metrics_at_once(rounds: usize, threads: usize) {
        let (done, finished) = mpsc::channel();
        std::thread::spawn(move || {
            for round in 0..rounds {
                let metrics = Metrics::default();
                let start = Arc::new(Barrier::new(threads));
                let workers: Vec<_> = (0..threads)
                    .map(|thread| {
                        let metrics = metrics.clone();
                        let start = Arc::clone(&start);
                        std::thread::spawn(move || {
                            let stream = STREAMS[thread % STREAMS.len()];
                            start.wait();
                            for sequence in 1..=3 {
                                metrics.set_applied(stream, sequence);
                                metrics.set_last(stream, sequence + 1);
                                metrics.count(stream, 1, 1);
                            }
                        })
                    })
                    .collect();
                for worker in workers {
                    worker.join().expect("a metrics thread panicked");
                }
                if done.send(round).is_err() {
                    return;
                }
            }
        });
        for round in 0..rounds {
            match finished.recv_timeout(Duration::from_secs(10)) {
                Ok(_) => {}
                Err(_) => panic!("round {round} of {rounds} did not finish: the metrics locked up"),
            }
        }
    }

    #[test]
    fn metrics_touched_for_the_first_time_by_many_threads_at_once_never_lock_up() {
        touch_fresh_metrics_at_once(5_000, 4);
    }

    #[test]
    fn given_applied_events_when_the_stream_grows_then_lag_is_the_difference() {
        let metrics = Metrics::default();
        metrics.set_applied("bookings", 10);
        metrics.set_last("bookings", 15);
        assert_eq!(
            metrics.lag.get_or_create_owned(&labels("bookings")).get(),
            5
        );
        metrics.set_last("bookings", 12);
        assert_eq!(
            metrics.last.get_or_create_owned(&labels("bookings")).get(),
            15,
            "an older reading never moves the last sequence back"
        );
        metrics.set_applied("bookings", 15);
        assert_eq!(
            metrics.lag.get_or_create_owned(&labels("bookings")).get(),
            0
        );
    }
}
