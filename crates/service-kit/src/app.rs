//! How every service runs: bind HTTP, connect to NATS with retry, ensure the event
//! streams, start the service's work, turn ready, and shut down gracefully. Written once,
//! here, for every [`Service`].

use std::io::Write as _;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use async_nats::Client;
use events::names;
use eventstore::{Backoff, EventStore, StoreMetrics};
use prometheus_client::registry::Registry;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::ops::Ops;
use crate::service::{Config, Service, Started};

/// What the graceful stop keeps of `DRAIN_TIMEOUT` for itself: the rest is the margin in
/// which the signal thread's deadline ([`crate::shutdown`]) would end the process.
const DRAIN_MARGIN: Duration = Duration::from_secs(2);
const SETUP_FIRST_DELAY: Duration = Duration::from_millis(200);
const SETUP_MAX_DELAY: Duration = Duration::from_secs(5);

/// The streams every service may need: each creates them (idempotently) before it starts
/// its work, so any start order works.
const EVENT_STREAMS: [&str; 3] = [
    names::TABLES_STREAM,
    names::BOOKINGS_STREAM,
    names::DEAD_LETTER_STREAM,
];

/// A service bound to its HTTP address, not yet running.
#[derive(Debug)]
pub struct App<S: Service> {
    service: Arc<S>,
    config: Config<S>,
    listener: TcpListener,
    registry: Registry,
    store_metrics: StoreMetrics,
}

impl<S: Service> App<S> {
    /// Builds the service and binds its HTTP address (port 0 picks a free port; see
    /// [`local_addr`](Self::local_addr)).
    pub async fn build(config: Config<S>) -> anyhow::Result<Self> {
        let http_addr = config
            .common
            .http_addr
            .unwrap_or_else(|| S::INFO.default_http_addr());
        let listener = TcpListener::bind(http_addr)
            .await
            .with_context(|| format!("cannot listen on HTTP_ADDR {http_addr}"))?;
        let mut registry = Registry::default();
        let store_metrics = StoreMetrics::default();
        store_metrics.register(&mut registry);
        let service = Arc::new(S::new(&config, &mut registry));
        Ok(Self {
            service,
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

    /// Serves the service's routes plus the operations endpoints, connects to NATS
    /// (retrying), runs [`Service::start`] until it succeeds, and then waits for
    /// `shutdown`.
    ///
    /// Shutdown: `/readyz` turns 503, HTTP stops accepting and finishes in-flight requests,
    /// workers are told to stop and awaited, then the NATS connection is drained. A worker
    /// that stops on its own is a failure: the service shuts down and returns an error so
    /// its supervisor restarts it.
    pub async fn run(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let name = S::INFO.name;
        let common = self.config.common.clone();
        tracing::info!(service = name, config = ?self.config, "starting");
        let service = self.service;
        let ops = Ops::new(self.registry);
        let app = service.routes().merge(ops.router());
        let http_stop = CancellationToken::new();
        let http = tokio::spawn(crate::http::serve(
            self.listener,
            app,
            crate::http::Limits {
                max_connections: common.http_max_connections,
                header_timeout: common.http_header_timeout,
            },
            http_stop.clone(),
        ));
        tracing::info!(service = name, "HTTP listening");

        let stop_budget = common
            .drain_timeout
            .saturating_sub(DRAIN_MARGIN)
            .max(Duration::from_millis(500));
        let Some((client, disconnects)) = crate::nats::connect(&common, name, &shutdown).await
        else {
            return stop_http(http_stop, http, Deadline::after(stop_budget)).await;
        };
        ops.set_client(client.clone());

        let workers_stop = CancellationToken::new();
        let started = Started {
            store: EventStore::new(client.clone(), self.store_metrics.clone())
                .with_disconnects(disconnects),
            client: client.clone(),
            shutdown: workers_stop.clone(),
            config: common,
        };
        let mut pauses = Backoff::new(SETUP_FIRST_DELAY, SETUP_MAX_DELAY).pauses();
        let mut workers = loop {
            let attempt = tokio::select! {
                () = shutdown.cancelled() => {
                    let deadline = Deadline::after(stop_budget);
                    ops.set_stopping();
                    stop_http(http_stop, http, deadline).await?;
                    drain(name, &client, deadline).await;
                    return Ok(());
                }
                attempt = async {
                    started.ensure_streams(&EVENT_STREAMS).await?;
                    service.start(started.clone()).await
                } => attempt,
            };
            match attempt {
                Ok(workers) => break workers,
                Err(error) => {
                    tracing::warn!(service = name, error = format!("{error:#}"),
                        retry_in = ?pauses.next_delay(), "setup failed; retrying");
                    // Stopped meanwhile: the loop's next turn sees it.
                    pauses.pause(&shutdown).await;
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
        let deadline = Deadline::after(stop_budget);
        ops.set_stopping();
        stop_http(http_stop, http, deadline).await?;
        workers_stop.cancel();
        let finished = tokio::time::timeout_at(deadline.0, async {
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
        drain(name, &client, deadline).await;
        tracing::info!(service = name, "stopped");
        failure.map_or(Ok(()), Err)
    }
}

/// A service running in a task of this process (tests, benchmarks).
#[derive(Debug)]
pub struct Spawned {
    addr: SocketAddr,
    shutdown: CancellationToken,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl<S: Service> App<S> {
    /// Runs the service in a task of this process until [`Spawned::stop`].
    pub fn spawn(self) -> Spawned {
        let addr = self.local_addr();
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(Box::pin(self.run(shutdown.clone())));
        Spawned {
            addr,
            shutdown,
            task,
        }
    }
}

impl Spawned {
    /// `http://<address it listens on>`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Whether it still runs: `false` once it has ended, on its own or by a failure.
    pub fn is_running(&self) -> bool {
        !self.task.is_finished()
    }

    /// Stops it gracefully, as SIGTERM would; its error if it failed.
    pub async fn stop(self) -> anyhow::Result<()> {
        self.shutdown.cancel();
        self.task
            .await
            .map_err(|join| anyhow::anyhow!("the service panicked: {join}"))?
    }

    /// Stops it the hard way, as a crash would: nothing in hand is finished.
    pub fn kill(self) {
        self.task.abort();
    }
}

/// Builds service `S` from `config` and runs it until `shutdown`.
pub async fn run<S: Service>(config: Config<S>, shutdown: CancellationToken) -> anyhow::Result<()> {
    // Boxed: a service's whole life is in this future (clippy::large_futures).
    Box::pin(App::<S>::build(config).await?.run(shutdown)).await
}

/// How a service binary was started.
#[derive(Debug)]
pub enum Launch<C> {
    /// As `<service> healthcheck`: the probe's outcome, to return from `main`.
    Probed(anyhow::Result<()>),
    /// To run: its configuration, with logging set up.
    Configured(C),
}

/// The start of a service binary's `main`: answers the container's health probe, or
/// parses the configuration (exiting with a message naming a bad variable) and sets up
/// logging.
pub fn launch<S: Service>() -> Launch<Config<S>> {
    if crate::healthcheck::requested() {
        let default_addr = S::INFO.default_http_addr().to_string();
        return Launch::Probed(crate::healthcheck::check(&default_addr));
    }
    let config = Config::<S>::parse();
    crate::telemetry::init(config.common.log_format);
    Launch::Configured(config)
}

/// The whole `main` of a service binary: [`launch`], then [`run`] until SIGTERM or SIGINT
/// ([`serve`]).
pub fn main<S: Service>() -> ExitCode {
    match launch::<S>() {
        Launch::Probed(Ok(())) => ExitCode::SUCCESS,
        Launch::Probed(Err(error)) => {
            let _ = writeln!(std::io::stderr(), "{error:#}");
            ExitCode::FAILURE
        }
        Launch::Configured(config) => {
            let drain = config.common.drain_timeout;
            serve(S::INFO.name, drain, |shutdown| run::<S>(config, shutdown))
        }
    }
}

/// Runs `work` on a runtime of its own until it returns, with a token that SIGTERM or
/// SIGINT cancels ([`crate::shutdown::on_signal`]): the process ends within `drain` of the
/// first signal, at once on a second one. An error is logged (and printed to stderr) and
/// makes the exit status 1.
pub fn serve<F, Fut>(name: &str, drain: Duration, work: F) -> ExitCode
where
    F: FnOnce(CancellationToken) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            let _ = writeln!(std::io::stderr(), "{name}: cannot start a runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let shutdown = crate::shutdown::on_signal(drain);
    let outcome = runtime.block_on(Box::pin(work(shutdown)));
    // Tasks still running (a stuck connection, a blocking call) do not hold the exit.
    runtime.shutdown_timeout(Duration::from_millis(200));
    let status = match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(
                service = name,
                error = format!("{error:#}"),
                "exiting after a failure"
            );
            let _ = writeln!(std::io::stderr(), "{name}: {error:#}");
            ExitCode::FAILURE
        }
    };
    crate::log_writer::LogWriter::default().flush(Duration::from_secs(1));
    status
}

/// When the graceful stop must be over.
#[derive(Debug, Clone, Copy)]
struct Deadline(tokio::time::Instant);

impl Deadline {
    fn after(budget: Duration) -> Self {
        Self(tokio::time::Instant::now() + budget)
    }
}

async fn stop_http(
    stop: CancellationToken,
    http: tokio::task::JoinHandle<std::io::Result<()>>,
    deadline: Deadline,
) -> anyhow::Result<()> {
    stop.cancel();
    match tokio::time::timeout_at(deadline.0, http).await {
        Ok(Ok(result)) => result.context("HTTP server failed"),
        Ok(Err(join)) => Err(anyhow::anyhow!("HTTP server panicked: {join}")),
        Err(_) => {
            tracing::warn!("HTTP connections did not close in time");
            Ok(())
        }
    }
}

/// Flushes what the client still holds (acks, publishes) and closes the connection.
async fn drain(name: &str, client: &Client, deadline: Deadline) {
    match tokio::time::timeout_at(deadline.0, client.drain()).await {
        Ok(Ok(())) => {}
        Ok(Err(error)) => tracing::warn!(service = name, %error, "NATS drain failed"),
        Err(_) => tracing::warn!(service = name, "NATS drain timed out"),
    }
}
