//! What one durable consumer reads and how it retries: its stream and name, the backoff
//! between redeliveries, batches and the unacked messages it may hold.

use std::time::Duration;

use async_nats::jetstream::{self, consumer::pull};
use events::names;

use crate::BoxError;

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

impl Backoff {
    /// Doubling delays from `initial` up to `max`.
    pub const fn new(initial: Duration, max: Duration) -> Self {
        Self { initial, max }
    }

    /// The pauses of one retry loop with these delays.
    pub fn pauses(self) -> Pauses {
        Pauses {
            backoff: self,
            failures: 0,
        }
    }
}

/// The pauses of one retry loop: the first after a failure is the backoff's `initial`, each
/// next one twice the last, up to its `max`; [`reset`](Self::reset) once an attempt
/// succeeds. A pause ends early when the loop is told to stop. Every retry loop of the
/// services uses it (consumers, the projector, the generation pointer, the NATS connection,
/// a service's setup).
#[derive(Debug, Clone)]
pub struct Pauses {
    backoff: Backoff,
    failures: i64,
}

impl Pauses {
    /// The pause the next failure will wait.
    pub fn next_delay(&self) -> Duration {
        self.backoff.delay(self.failures + 1)
    }

    /// Waits the next pause, or until `stop`: `false` if told to stop first.
    pub async fn pause(&mut self, stop: &tokio_util::sync::CancellationToken) -> bool {
        let delay = self.next_delay();
        self.failures = self.failures.saturating_add(1);
        tokio::select! {
            () = stop.cancelled() => false,
            () = tokio::time::sleep(delay) => true,
        }
    }

    /// An attempt succeeded: the next failure pauses `initial` again.
    pub fn reset(&mut self) {
        self.failures = 0;
    }
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            initial: Duration::from_millis(100),
            // Short enough that a consumer resumes within seconds of a leader election
            // or a NATS restart ending.
            max: Duration::from_secs(5),
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
    /// Delays between redeliveries of a message whose handling failed for a reason that
    /// may pass (it is retried for as long as it takes; only poison is dead-lettered).
    pub backoff: Backoff,
    /// How long a delivery may stay unacked before JetStream redelivers it: how long the
    /// messages held by an instance that crashed wait before another one gets them. A
    /// handler that runs longer tells the server it is still working, every half of it.
    pub ack_wait: Duration,
    /// Messages fetched and handled together (grouped by subject).
    pub batch: usize,
    /// Upper bound of unacked messages handed to this consumer.
    pub max_ack_pending: i64,
    /// Handle in order the messages with the same value of this header (those without it
    /// by subject), rather than by subject: for a consumer whose handling touches another
    /// aggregate than the one whose subject the message is on.
    pub order_by_header: Option<&'static str>,
    /// Made anew, the consumer starts after the stream's last message rather than at its
    /// first: for a consumer that must not act on the history (the notifier does not
    /// email the guests of bookings made before it existed). Once made, it keeps its
    /// position either way.
    pub from_now: bool,
}

impl ConsumerSpec {
    /// A spec with the defaults: 100 ms..5 s backoff, 10 s ack wait, batches of 256.
    pub fn new(stream: &str, durable: &str) -> Self {
        Self {
            stream: stream.to_owned(),
            durable: durable.to_owned(),
            filter_subjects: Vec::new(),
            backoff: Backoff::default(),
            ack_wait: Duration::from_secs(10),
            batch: 256,
            max_ack_pending: 10_000,
            order_by_header: None,
            from_now: false,
        }
    }

    /// The same consumer, handling in order by the value of header `name`.
    pub fn ordered_by_header(self, name: &'static str) -> Self {
        Self {
            order_by_header: Some(name),
            ..self
        }
    }

    /// A consumer whose messages are timers, handed back with a delay until they are due
    /// ([`crate::HandleError::Defer`]): each pending timer is held unacked (up to a
    /// million).
    pub fn timers(stream: &str, durable: &str) -> Self {
        Self {
            max_ack_pending: 1_000_000,
            ..Self::new(stream, durable)
        }
    }
}

/// The durable consumer of `consumer`'s replay requests, created if missing.
pub(crate) async fn replay_consumer(
    js: &jetstream::Context,
    stream: &str,
    consumer: &str,
) -> Result<jetstream::consumer::Consumer<pull::Config>, BoxError> {
    let dead_letters = js.get_stream(names::DEAD_LETTER_STREAM).await?;
    let durable = names::dead_letter_replay_consumer(consumer);
    let config = pull::Config {
        durable_name: Some(durable.clone()),
        ack_policy: jetstream::consumer::AckPolicy::Explicit,
        filter_subject: names::dead_letter_replay_subject(stream, consumer),
        // Requests made before the consumer existed count too.
        deliver_policy: jetstream::consumer::DeliverPolicy::All,
        ..Default::default()
    };
    Ok(dead_letters
        .get_or_create_consumer(&durable, config)
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn pauses_double_up_to_the_max_start_over_on_reset_and_end_when_told_to_stop() {
        let stop = tokio_util::sync::CancellationToken::new();
        let mut pauses =
            Backoff::new(Duration::from_millis(10), Duration::from_millis(30)).pauses();
        let mut waited = Vec::new();
        for _ in 0..4 {
            waited.push(pauses.next_delay());
            assert!(pauses.pause(&stop).await);
        }
        assert_eq!(waited, [10, 20, 30, 30].map(Duration::from_millis).to_vec());
        pauses.reset();
        assert_eq!(pauses.next_delay(), Duration::from_millis(10));
        stop.cancel();
        let long = Backoff::new(Duration::from_secs(60), Duration::from_secs(60));
        let started = tokio::time::Instant::now();
        assert!(
            !long.pauses().pause(&stop).await,
            "a stopped loop does not pause"
        );
        assert!(started.elapsed() < Duration::from_secs(1));
    }

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
