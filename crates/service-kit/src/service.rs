//! The life of a service: bind HTTP, connect to NATS, set up, work, shut down gracefully.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use async_nats::Client;
use axum::Router;
use eventstore::{
    ConsumerSpec, DurableConsumer, EventStore, Handler, StoreMetrics, StreamSettings,
};
use prometheus_client::registry::Registry;
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::config::CommonConfig;
use crate::ops::Ops;

/// How long each shutdown phase (HTTP, workers, NATS drain) may take.
const PHASE_TIMEOUT: Duration = Duration::from_secs(20);
const SETUP_FIRST_DELAY: Duration = Duration::from_millis(200);
const SETUP_MAX_DELAY: Duration = Duration::from_secs(5);

/// What a service's setup gets once NATS is connected.
#[derive(Debug, Clone)]
pub struct Started {
    pub client: Client,
    /// The event store on that connection, counting into the service's metrics.
    pub store: EventStore,
    /// Cancelled when the service shuts down: workers finish what they hold and return.
    pub shutdown: CancellationToken,
    pub config: CommonConfig,
}

impl Started {
    /// Settings of the streams this service creates (replicas from `STREAM_REPLICAS`).
    pub fn stream_settings(&self) -> StreamSettings {
        StreamSettings {
            replicas: usize::from(self.config.stream_replicas),
            ..StreamSettings::default()
        }
    }

    /// Creates the durable consumer of `spec` if missing (idempotent), counting into this
    /// service's metrics.
    pub async fn consumer(&self, spec: ConsumerSpec) -> anyhow::Result<DurableConsumer> {
        let durable = spec.durable.clone();
        DurableConsumer::ensure(self.store.jetstream(), spec, self.store.metrics().clone())
            .await
            .with_context(|| format!("cannot set up the consumer {durable}"))
    }

    /// Runs `consumer` with `handler` as one of `workers`, until the service stops.
    pub fn spawn_consumer<H: Handler>(
        &self,
        workers: &mut JoinSet<anyhow::Result<()>>,
        consumer: DurableConsumer,
        handler: H,
    ) {
        let stop = self.shutdown.clone();
        workers.spawn(async move {
            consumer.run(Arc::new(handler), stop).await;
            Ok(())
        });
    }

    /// Creates the named streams if missing (idempotent), with this service's settings.
    pub async fn ensure_streams(&self, streams: &[&str]) -> anyhow::Result<()> {
        eventstore::ensure_streams(self.store.jetstream(), streams, self.stream_settings())
            .await
            .context("cannot set up the event streams")
    }
}

/// A service bound to its HTTP address, not yet running.
#[derive(Debug)]
pub struct Service {
    name: &'static str,
    config: CommonConfig,
    listener: TcpListener,
    registry: Registry,
    store_metrics: StoreMetrics,
}

impl Service {
    /// Binds `http_addr` (port 0 picks a free port; see [`local_addr`](Self::local_addr)).
    pub async fn bind(
        name: &'static str,
        config: CommonConfig,
        http_addr: SocketAddr,
    ) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(http_addr)
            .await
            .with_context(|| format!("cannot listen on HTTP_ADDR {http_addr}"))?;
        let mut registry = Registry::default();
        let store_metrics = StoreMetrics::default();
        store_metrics.register(&mut registry);
        Ok(Self {
            name,
            config,
            listener,
            registry,
            store_metrics,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        // A bound TCP listener always has a local address.
        self.listener
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)))
    }

    /// Where the service's metrics are registered (before [`run`](Self::run)).
    pub fn registry(&mut self) -> &mut Registry {
        &mut self.registry
    }

    /// Serves `routes` plus the operations endpoints, connects to NATS (retrying), runs
    /// `setup` until it succeeds (it must be idempotent: create streams and consumers, then
    /// spawn workers into the returned set), and then waits for `shutdown`.
    ///
    /// Shutdown: `/readyz` turns 503, HTTP stops accepting and finishes in-flight requests,
    /// workers are told to stop and awaited, then the NATS connection is drained. A worker
    /// that stops on its own is a failure: the service shuts down and returns an error so
    /// its supervisor restarts it.
    pub async fn run<S, F>(
        self,
        routes: impl FnOnce(Ops) -> Router,
        shutdown: CancellationToken,
        setup: S,
    ) -> anyhow::Result<()>
    where
        S: Fn(Started) -> F,
        F: Future<Output = anyhow::Result<JoinSet<anyhow::Result<()>>>>,
    {
        let name = self.name;
        let ops = Ops::new(self.registry);
        let app = routes(ops.clone()).merge(ops.router());
        let http_stop = CancellationToken::new();
        let http = tokio::spawn(
            axum::serve(self.listener, app)
                .with_graceful_shutdown(http_stop.clone().cancelled_owned())
                .into_future(),
        );
        tracing::info!(service = name, "HTTP listening");

        let Some(client) = crate::nats::connect(&self.config, name, &shutdown).await else {
            return stop_http(http_stop, http).await;
        };
        ops.set_client(client.clone());

        let workers_stop = CancellationToken::new();
        let started = Started {
            store: EventStore::new(client.clone(), self.store_metrics.clone()),
            client: client.clone(),
            shutdown: workers_stop.clone(),
            config: self.config.clone(),
        };
        let mut delay = SETUP_FIRST_DELAY;
        let mut workers = loop {
            let attempt = tokio::select! {
                () = shutdown.cancelled() => {
                    ops.set_stopping();
                    stop_http(http_stop, http).await?;
                    drain(name, &client).await;
                    return Ok(());
                }
                attempt = setup(started.clone()) => attempt,
            };
            match attempt {
                Ok(workers) => break workers,
                Err(error) => {
                    tracing::warn!(service = name, error = format!("{error:#}"), retry_in = ?delay,
                        "setup failed; retrying");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(SETUP_MAX_DELAY);
                }
            }
        };
        ops.set_started();
        tracing::info!(service = name, "ready");

        let failure = tokio::select! {
            () = shutdown.cancelled() => None,
            Some(ended) = workers.join_next() => Some(match ended {
                Ok(Ok(())) => anyhow::anyhow!("a worker of {name} stopped unexpectedly"),
                Ok(Err(error)) => error.context(format!("a worker of {name} failed")),
                Err(join) => anyhow::anyhow!("a worker of {name} panicked: {join}"),
            }),
        };
        if let Some(error) = &failure {
            tracing::error!(
                service = name,
                error = format!("{error:#}"),
                "shutting down after a failure"
            );
        }

        tracing::info!(service = name, "shutting down");
        ops.set_stopping();
        stop_http(http_stop, http).await?;
        workers_stop.cancel();
        let finished = tokio::time::timeout(PHASE_TIMEOUT, async {
            while let Some(ended) = workers.join_next().await {
                match ended {
                    Ok(Ok(())) => {}
                    Ok(Err(error)) => tracing::error!(
                        service = name,
                        error = format!("{error:#}"),
                        "worker failed while stopping"
                    ),
                    Err(join) => {
                        tracing::error!(service = name, %join, "worker panicked while stopping")
                    }
                }
            }
        })
        .await;
        if finished.is_err() {
            tracing::warn!(
                service = name,
                "workers did not stop in time; aborting them"
            );
            workers.abort_all();
        }
        drain(name, &client).await;
        tracing::info!(service = name, "stopped");
        failure.map_or(Ok(()), Err)
    }
}

async fn stop_http(
    stop: CancellationToken,
    http: tokio::task::JoinHandle<std::io::Result<()>>,
) -> anyhow::Result<()> {
    stop.cancel();
    match tokio::time::timeout(PHASE_TIMEOUT, http).await {
        Ok(Ok(result)) => result.context("HTTP server failed"),
        Ok(Err(join)) => Err(anyhow::anyhow!("HTTP server panicked: {join}")),
        Err(_) => {
            tracing::warn!("HTTP connections did not close in time");
            Ok(())
        }
    }
}

/// Flushes what the client still holds (acks, publishes) and closes the connection.
async fn drain(name: &str, client: &Client) {
    match tokio::time::timeout(PHASE_TIMEOUT, client.drain()).await {
        Ok(Ok(())) => {}
        Ok(Err(error)) => tracing::warn!(service = name, %error, "NATS drain failed"),
        Err(_) => tracing::warn!(service = name, "NATS drain timed out"),
    }
}
