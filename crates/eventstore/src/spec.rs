//! What one durable consumer reads and how hard it tries: its stream and name, the
//! redelivery bound and backoff, batches and the unacked messages it may hold.

use std::time::Duration;

/// Exponential delays between redeliveries of a message whose handling failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub initial: Duration,
    pub max: Duration,
}

impl Backoff {
    /// Delay before the next delivery after the `delivered`-th one failed.
    pub fn delay(&self, delivered: i64) -> Duration {
        let exponent = u32::try_from(delivered.saturating_sub(1).clamp(0, 20)).unwrap_or(20);
        self.initial
            .saturating_mul(2u32.saturating_pow(exponent))
            .min(self.max)
    }
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            initial: Duration::from_millis(100),
            max: Duration::from_secs(10),
        }
    }
}

/// What one durable consumer reads and how hard it tries.
#[derive(Debug, Clone)]
pub struct ConsumerSpec {
    pub stream: String,
    /// Durable name; also the last token of its dead-letter subject.
    pub durable: String,
    /// Subjects to read; empty means the whole stream.
    pub filter_subjects: Vec<String>,
    /// Deliveries after which a message that still fails is dead-lettered.
    pub max_deliveries: i64,
    pub backoff: Backoff,
    /// How long a delivery may stay unacked before JetStream redelivers it: how long the
    /// messages held by an instance that crashed wait before another one gets them.
    pub ack_wait: Duration,
    /// Messages fetched and handled together (grouped by subject).
    pub batch: usize,
    /// Upper bound of unacked messages handed to this consumer.
    pub max_ack_pending: i64,
}

impl ConsumerSpec {
    /// A spec with the defaults: 5 deliveries, 100 ms..10 s backoff, 10 s ack wait,
    /// batches of 256.
    pub fn new(stream: &str, durable: &str) -> Self {
        Self {
            stream: stream.to_owned(),
            durable: durable.to_owned(),
            filter_subjects: Vec::new(),
            max_deliveries: 5,
            backoff: Backoff::default(),
            ack_wait: Duration::from_secs(10),
            batch: 256,
            max_ack_pending: 10_000,
        }
    }

    /// A consumer whose messages are timers, handed back with a delay until they are due
    /// ([`crate::HandleError::Defer`]): each pending timer is held unacked (up to a million), and
    /// deliveries are not failures, so `max_deliveries` only guards against a message
    /// that loops.
    pub fn timers(stream: &str, durable: &str, max_deliveries: i64) -> Self {
        Self {
            max_deliveries,
            max_ack_pending: 1_000_000,
            ..Self::new(stream, durable)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_backoff_doubles_from_its_initial_delay_up_to_its_maximum() {
        let backoff = Backoff {
            initial: Duration::from_millis(100),
            max: Duration::from_secs(1),
        };
        let delays: Vec<_> = (1..=6).map(|n| backoff.delay(n).as_millis()).collect();
        assert_eq!(delays, [100, 200, 400, 800, 1000, 1000]);
        assert_eq!(backoff.delay(0), Duration::from_millis(100));
        assert_eq!(backoff.delay(i64::MAX), Duration::from_secs(1));
    }
}
