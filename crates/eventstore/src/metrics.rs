//! Counters of the event store and its consumers, for `/metrics`.
//!
//! How metrics are touched, here and in every service: a family's child is taken with
//! `get_or_create_owned` (an owned handle; the family's lock is released before it
//! returns), never with `get_or_create`, whose guard held across a second touch of the
//! family deadlocks against a thread adding a label (`clippy.toml` refuses it).

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// Labels of per-stream metrics: a fixed array of static strings, so counting allocates
/// nothing on the append path.
type StreamLabels = [(&'static str, &'static str); 1];
type Labels = Vec<(&'static str, String)>;

/// Cheap to clone: every field is a shared handle.
#[derive(Debug, Clone)]
pub struct StoreMetrics {
    pub(crate) appended: Family<StreamLabels, Counter>,
    pub(crate) conflicts: Family<StreamLabels, Counter>,
    pub(crate) duplicates: Family<StreamLabels, Counter>,
    pub(crate) loads: Family<StreamLabels, Counter>,
    pub(crate) append_seconds: Histogram,
    pub(crate) handled: Family<Labels, Counter>,
    pub(crate) dead_letters: Family<Labels, Gauge>,
}

impl Default for StoreMetrics {
    fn default() -> Self {
        Self {
            appended: Family::default(),
            conflicts: Family::default(),
            duplicates: Family::default(),
            loads: Family::default(),
            // 100 µs .. ~1.6 s
            append_seconds: Histogram::new(exponential_buckets(0.0001, 2.0, 15)),
            handled: Family::default(),
            dead_letters: Family::default(),
        }
    }
}

impl StoreMetrics {
    /// Adds every metric to `registry`.
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "eventstore_events_appended",
            "Events appended, by stream",
            self.appended.clone(),
        );
        registry.register(
            "eventstore_append_conflicts",
            "Appends refused because the aggregate had moved on (expected sequence)",
            self.conflicts.clone(),
        );
        registry.register(
            "eventstore_append_duplicates",
            "Appends dropped by JetStream deduplication (Nats-Msg-Id seen before)",
            self.duplicates.clone(),
        );
        registry.register(
            "eventstore_loads",
            "Aggregate loads from the stream, by stream",
            self.loads.clone(),
        );
        registry.register(
            "eventstore_append_duration_seconds",
            "Time from publishing an append to its acknowledgement",
            self.append_seconds.clone(),
        );
        registry.register(
            "consumer_messages",
            "Messages taken by durable consumers, by consumer and outcome \
             (acked, retried, dead_lettered)",
            self.handled.clone(),
        );
        registry.register(
            "consumer_dead_letters",
            "Messages a durable consumer could never process, stored in DEAD_LETTERS now \
             (list and replay them with the dead-letters tool; counted every 15 s)",
            self.dead_letters.clone(),
        );
    }

    /// The gauge of one consumer's stored dead letters.
    pub(crate) fn dead_letters(&self, consumer: &str) -> Gauge {
        let labels = vec![("consumer", consumer.to_owned())];
        self.dead_letters.get_or_create_owned(&labels)
    }

    pub(crate) fn stream(stream: &'static str) -> StreamLabels {
        [("stream", stream)]
    }

    /// The counter of one consumer's outcome (`acked`, `retried`, `dead_lettered`); take it
    /// once and keep it, since the lookup allocates.
    pub(crate) fn outcome(&self, consumer: &str, outcome: &'static str) -> Counter {
        let labels = vec![
            ("consumer", consumer.to_owned()),
            ("outcome", outcome.to_owned()),
        ];
        self.handled.get_or_create_owned(&labels)
    }
}
