//! Durable pull consumers with explicit acks, redelivery with a capped backoff for as long
//! as a failure may pass, and a dead-letter stream for messages that can never be
//! processed.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::{self, AckKind, consumer::pull};
use futures_util::stream::FuturesUnordered;
use futures_util::{FutureExt as _, StreamExt};
use tokio_util::sync::CancellationToken;

use crate::BoxError;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;

use crate::disconnects::Disconnects;
use crate::metrics::StoreMetrics;
use crate::spec::ConsumerSpec;

/// How long one pull request stays open on the server. Short, because a stopping consumer
/// waits for its open request to end, and an idle one asks again this often.
const PULL_EXPIRES: Duration = Duration::from_secs(1);
/// How much longer than [`PULL_EXPIRES`] a stopping consumer waits for its open request to
/// end before it gives up on it (the server is unreachable).
const STOP_MARGIN: Duration = Duration::from_millis(500);

/// The next message of the open pull request (`None` when it has ended).
async fn next_message(
    pull: &mut Option<pull::Batch>,
) -> Option<Result<jetstream::Message, async_nats::Error>> {
    match pull {
        Some(batch) => batch.next().await,
        None => std::future::pending().await,
    }
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

mod delivery;

pub(crate) use delivery::server_time;
pub use delivery::{Delivery, HandleError, Handler};

/// The consumer could not be set up.
#[derive(Debug, thiserror::Error)]
#[error("consumer {durable} on {stream}: {source}")]
pub struct ConsumerError {
    pub stream: String,
    pub durable: String,
    #[source]
    pub source: BoxError,
}

/// A durable pull consumer that exists on the server.
#[derive(Debug)]
pub struct DurableConsumer {
    spec: ConsumerSpec,
    consumer: jetstream::consumer::Consumer<pull::Config>,
    js: jetstream::Context,
    acked: Counter,
    retried: Counter,
    deferred: Counter,
    dead_lettered: Counter,
    /// Dead letters of this consumer stored now.
    dead_letters: Gauge,
    /// The durable consumer of operators' replay requests for this one.
    replays: jetstream::consumer::Consumer<pull::Config>,
    /// Losses of the connection: the open pull request is then made again.
    disconnects: Disconnects,
}

impl DurableConsumer {
    /// Creates the consumer if missing (idempotent) and returns a handle on it.
    pub async fn ensure(
        js: &jetstream::Context,
        spec: ConsumerSpec,
        metrics: StoreMetrics,
    ) -> Result<Self, ConsumerError> {
        let error = |source: BoxError| ConsumerError {
            stream: spec.stream.clone(),
            durable: spec.durable.clone(),
            source,
        };
        let stream = js
            .get_stream(&spec.stream)
            .await
            .map_err(|e| error(Box::new(e)))?;
        let config = pull::Config {
            durable_name: Some(spec.durable.clone()),
            ack_policy: jetstream::consumer::AckPolicy::Explicit,
            ack_wait: spec.ack_wait,
            // Unlimited on the server: the bound is enforced here, so a message is never
            // dropped silently; it ends either acked or in the dead-letter stream.
            max_deliver: -1,
            max_ack_pending: spec.max_ack_pending,
            filter_subjects: spec.filter_subjects.clone(),
            deliver_policy: if spec.from_now {
                jetstream::consumer::DeliverPolicy::New
            } else {
                jetstream::consumer::DeliverPolicy::All
            },
            ..Default::default()
        };
        let consumer = stream
            .get_or_create_consumer(&spec.durable, config)
            .await
            .map_err(|e| error(Box::new(e)))?;
        // Boxed: JetStream's consumer setup futures are large.
        let replays = Box::pin(crate::spec::replay_consumer(
            js,
            &spec.stream,
            &spec.durable,
        ))
        .await
        .map_err(error)?;
        Ok(Self {
            dead_letters: metrics.dead_letters(&spec.durable),
            replays,
            acked: metrics.outcome(&spec.durable, "acked"),
            retried: metrics.outcome(&spec.durable, "retried"),
            deferred: metrics.outcome(&spec.durable, "deferred"),
            dead_lettered: metrics.outcome(&spec.durable, "dead_lettered"),
            spec,
            consumer,
            js: js.clone(),
            disconnects: Disconnects::never(),
        })
    }

    /// The same consumer, asking again at once when `disconnects` reports the connection
    /// lost (rather than when the lost request would have expired).
    pub fn with_disconnects(mut self, disconnects: Disconnects) -> Self {
        self.disconnects = disconnects;
        self
    }

    pub fn spec(&self) -> &ConsumerSpec {
        &self.spec
    }

    /// When the server made this durable consumer (its clock): what was stored before
    /// was already in the stream when the consumer first ran.
    pub fn created(&self) -> jiff::Timestamp {
        server_time(self.consumer.cached_info().created.unix_timestamp_nanos())
    }

    pub(crate) fn js(&self) -> &jetstream::Context {
        &self.js
    }

    pub(crate) fn dead_letter_gauge(&self) -> &Gauge {
        &self.dead_letters
    }

    pub(crate) fn replays(&self) -> &jetstream::consumer::Consumer<pull::Config> {
        &self.replays
    }

    /// Feeds deliveries to `handler` until `shutdown`, then finishes the messages in hand
    /// and returns.
    ///
    /// Messages are handled as they arrive, up to `batch` at once: in order within a
    /// subject (a message waits for the one before it on its subject; or within the value
    /// of the header [`ConsumerSpec::order_by_header`] names), concurrently across them. They come from short pull requests, each asking for what the pipeline has
    /// room for. Stopping waits for the open request to end on the server before
    /// returning: a request left open would still be handed messages that nobody reads,
    /// and they would wait for `ack_wait` before going to another instance. Survives NATS
    /// outages by asking again with a backoff. Serves operators' replays of this
    /// consumer's dead letters alongside (see [`crate::dead_letters`]).
    pub async fn run<H: Handler>(self, handler: Arc<H>, shutdown: CancellationToken) {
        let handler = handler.as_ref();
        tokio::join!(
            self.pull(handler, &shutdown),
            self.serve_replays(handler, &shutdown),
        );
    }

    async fn pull<H: Handler>(&self, handler: &H, shutdown: &CancellationToken) {
        let mut running = FuturesUnordered::new();
        // Subjects with a message being handled, and the messages waiting behind it.
        let mut waiting: HashMap<String, VecDeque<jetstream::Message>> = HashMap::new();
        let mut held = 0usize;
        let mut pull: Option<pull::Batch> = None;
        let mut failures = 0;
        let mut paused_until: Option<tokio::time::Instant> = None;
        let mut stop_by: Option<tokio::time::Instant> = None;
        let mut losses = self.disconnects.watch();
        loop {
            let stopping = shutdown.is_cancelled();
            // Ask again only with room for at least half a batch, so a busy consumer
            // does not send one request per message.
            if pull.is_none() && !stopping && paused_until.is_none() && held <= self.spec.batch / 2
            {
                let requested = tokio::select! {
                    () = shutdown.cancelled() => continue,
                    requested = self.request(self.spec.batch - held) => requested,
                };
                match requested {
                    Ok(batch) => {
                        losses.seen();
                        pull = Some(batch);
                    }
                    Err(e) => {
                        failures += 1;
                        paused_until = Some(self.pause(failures, &e));
                    }
                }
            }
            if stopping && pull.is_none() && running.is_empty() {
                return;
            }
            if stopping && stop_by.is_none() {
                stop_by = Some(tokio::time::Instant::now() + PULL_EXPIRES + STOP_MARGIN);
            }
            tokio::select! {
                biased;
                () = shutdown.cancelled(), if !stopping => {}
                // The open request should have ended on the server by now; if no end came
                // (NATS unreachable), nothing can be delivered on it any more.
                () = sleep_until(stop_by), if pull.is_some() => pull = None,
                // A request made on a lost connection will never deliver: ask again.
                () = losses.lost(), if pull.is_some() => pull = None,
                Some(subject) = running.next(), if !running.is_empty() => {
                    held -= 1;
                    let next = waiting.get_mut(&subject).and_then(VecDeque::pop_front);
                    match next {
                        Some(message) => running.push(self.handle_one(handler, message)),
                        None => {
                            waiting.remove(&subject);
                        }
                    }
                }
                item = next_message(&mut pull), if pull.is_some() => match item {
                    Some(Ok(message)) => {
                        failures = 0;
                        held += 1;
                        let key = self.order_key(&message);
                        match waiting.get_mut(&key) {
                            Some(queue) => queue.push_back(message),
                            None => {
                                waiting.insert(key, VecDeque::new());
                                running.push(self.handle_one(handler, message));
                            }
                        }
                    }
                    // The request has ended with an error status (consumer deleted,
                    // too many waiting requests...); the next one waits a little.
                    Some(Err(e)) => {
                        failures += 1;
                        paused_until = Some(self.pause(failures, e.as_ref()));
                    }
                    None => pull = None,
                },
                () = sleep_until(paused_until), if paused_until.is_some() && !stopping => {
                    paused_until = None;
                }
            }
        }
    }

    /// Opens one pull request for up to `messages` messages.
    async fn request(&self, messages: usize) -> Result<pull::Batch, BoxError> {
        Ok(self
            .consumer
            .batch()
            .max_messages(messages)
            .expires(PULL_EXPIRES)
            .messages()
            .await?)
    }

    /// Logs a failed pull and says until when to wait before the next one.
    fn pause(&self, failures: i64, error: &dyn std::fmt::Display) -> tokio::time::Instant {
        let delay = self.spec.backoff.delay(failures);
        tracing::warn!(consumer = %self.spec.durable, %error, ?delay,
            "cannot pull from consumer; retrying");
        tokio::time::Instant::now() + delay
    }

    /// What a message is ordered by: its subject, or the header the spec names.
    fn order_key(&self, message: &jetstream::Message) -> String {
        self.spec
            .order_by_header
            .and_then(|name| message.headers.as_ref()?.get(name))
            .map_or_else(
                || message.subject.to_string(),
                |value| value.as_str().to_owned(),
            )
    }

    /// Handles and settles one message; gives back its order key.
    async fn handle_one<H: Handler>(&self, handler: &H, message: jetstream::Message) -> String {
        let key = self.order_key(&message);
        self.settle(handler, message).await;
        key
    }

    async fn settle<H: Handler>(&self, handler: &H, mut message: jetstream::Message) {
        let (stream_sequence, delivered, stored_at) = match message.info() {
            Ok(info) => (
                info.stream_sequence,
                info.delivered,
                server_time(info.published.unix_timestamp_nanos()),
            ),
            Err(e) => {
                tracing::error!(consumer = %self.spec.durable, error = %e,
                    "delivery without JetStream metadata; skipped");
                return;
            }
        };
        // Headers and payload move into the delivery; acking needs only the reply subject.
        let delivery = Delivery {
            subject: message.subject.to_string(),
            stream_sequence,
            delivered,
            stored_at,
            headers: message.message.headers.take(),
            payload: std::mem::take(&mut message.message.payload),
        };

        let ignored = delivery
            .event_type()
            .is_some_and(|kind| handler.ignores().contains(&kind));
        let result = if ignored {
            Ok(())
        } else {
            self.handle_reporting_progress(handler, &message, &delivery)
                .await
        };
        let consumer = self.spec.durable.as_str();
        let outcome = match result {
            Ok(()) => {
                if let Err(e) = message.ack().await {
                    tracing::warn!(consumer, stream_sequence, error = %e, "ack failed; will be redelivered");
                }
                &self.acked
            }
            Err(HandleError::Defer(delay)) => {
                if let Err(e) = message.ack_with(AckKind::Nak(Some(delay))).await {
                    tracing::warn!(consumer, stream_sequence, error = %e, "nak failed");
                }
                &self.deferred
            }
            Err(HandleError::Retry(e)) => {
                let delay = self.spec.backoff.delay(delivered);
                tracing::warn!(consumer, stream_sequence, delivered, ?delay, error = %e,
                    "handling failed; will retry");
                if let Err(e) = message.ack_with(AckKind::Nak(Some(delay))).await {
                    tracing::warn!(consumer, stream_sequence, error = %e, "nak failed");
                }
                &self.retried
            }
            Err(HandleError::Poison(reason)) => {
                if self.dead_letter(&message, &delivery, &reason).await {
                    &self.dead_lettered
                } else {
                    &self.retried
                }
            }
        };
        outcome.inc();
    }

    /// Runs the handler on one delivery. While it runs longer than half the ack wait, the
    /// server is told it is still in progress, so the message does not go to another
    /// instance meanwhile. A handler that panics has met a message it can never process.
    pub(crate) async fn handle_reporting_progress<H: Handler>(
        &self,
        handler: &H,
        message: &jetstream::Message,
        delivery: &Delivery,
    ) -> Result<(), HandleError> {
        let handled = std::panic::AssertUnwindSafe(handler.handle(delivery)).catch_unwind();
        tokio::pin!(handled);
        let every = (self.spec.ack_wait / 2).max(Duration::from_millis(100));
        let mut progress = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        loop {
            tokio::select! {
                result = &mut handled => {
                    return result.unwrap_or_else(|panic| {
                        let what = panic
                            .downcast_ref::<&str>()
                            .map(ToString::to_string)
                            .or_else(|| panic.downcast_ref::<String>().cloned())
                            .unwrap_or_default();
                        Err(HandleError::Poison(format!("the handler panicked: {what}")))
                    });
                }
                _ = progress.tick() => {
                    if let Err(e) = message.ack_with(AckKind::Progress).await {
                        tracing::warn!(consumer = %self.spec.durable, error = %e,
                            "cannot report progress");
                    }
                }
            }
        }
    }
}
