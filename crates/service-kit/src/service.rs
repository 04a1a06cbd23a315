//! What a service is: its [`Info`], its own settings ([`Config`] adds the common ones), its
//! routes and the work it starts once NATS is connected ([`Started`]). How a service runs
//! is [`crate::app`].

use std::fmt;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use async_nats::Client;
use axum::Router;
use clap::{Args as _, FromArgMatches as _};
use eventstore::{ConsumerSpec, DurableConsumer, EventStore, Handler, StreamSettings};
use prometheus_client::registry::Registry;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::config::CommonConfig;

/// What a service says about itself: [`Info::new`]`(name, port, about)`.
#[derive(Debug, Clone, Copy)]
pub struct Info {
    /// Its binary's name, NATS connection name and inbox prefix, and its log field.
    pub name: &'static str,
    /// It listens on `0.0.0.0:<port>` unless `HTTP_ADDR` says otherwise.
    pub port: u16,
    /// One line for `--help`.
    pub about: &'static str,
}

impl Info {
    pub const fn new(name: &'static str, port: u16, about: &'static str) -> Self {
        Self { name, port, about }
    }

    /// Where the service listens unless `HTTP_ADDR` says otherwise.
    pub fn default_http_addr(&self) -> SocketAddr {
        SocketAddr::from(([0, 0, 0, 0], self.port))
    }
}

/// The workers a service starts: each runs until the service stops; one that ends on its
/// own is a failure.
pub type Workers = JoinSet<anyhow::Result<()>>;

/// What a service is: its name, its configuration, its routes and its work. The scaffold
/// ([`App`], [`run`], [`main`]) does the rest: HTTP with the ops endpoints, the NATS
/// connection with retry, readiness, metrics and graceful shutdown.
pub trait Service: Send + Sync + Sized + 'static {
    /// Its name, description and default address.
    const INFO: Info;
    /// Its own settings, besides the [`CommonConfig`] every service has.
    type Settings: clap::Args + clap::FromArgMatches + fmt::Debug + Clone + Send + Sync + 'static;

    /// The service before NATS is connected; registers its own metrics in `registry`.
    fn new(config: &Config<Self>, registry: &mut Registry) -> Self;

    /// Its routes besides `/healthz`, `/readyz` and `/metrics` (none by default).
    fn routes(&self) -> Router {
        Router::new()
    }

    /// Once NATS is connected and the event streams exist: creates what else the service
    /// needs there (idempotently: it is retried until it succeeds) and spawns its workers.
    /// The service is ready when it returns.
    fn start(&self, nats: Started) -> impl Future<Output = anyhow::Result<Workers>> + Send;
}

/// The configuration of service `S`: the settings every service has, and its own. Read
/// from the environment (or the same-named flags); an invalid value stops the service at
/// start with a message naming it.
pub struct Config<S: Service> {
    pub common: CommonConfig,
    pub own: S::Settings,
}

impl<S: Service> Config<S> {
    /// The command line of `S`: its name, its description, the common settings and its own.
    pub fn command() -> clap::Command {
        let command = clap::Command::new(S::INFO.name).version(env!("CARGO_PKG_VERSION"));
        // After the settings: their own doc comment would replace the service's line.
        S::Settings::augment_args(CommonConfig::augment_args(command)).about(S::INFO.about)
    }

    /// Parses `args` (the first is the binary's name) and the environment.
    pub fn try_parse_from<I, T>(args: I) -> Result<Self, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        let matches = Self::command().try_get_matches_from(args)?;
        Ok(Self {
            common: CommonConfig::from_arg_matches(&matches)?,
            own: S::Settings::from_arg_matches(&matches)?,
        })
    }

    /// Like [`try_parse_from`](Self::try_parse_from); exits with clap's message on an error.
    pub fn parse_from<I, T>(args: I) -> Self
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        Self::try_parse_from(args).unwrap_or_else(|error| error.exit())
    }

    /// The process's own arguments and environment.
    pub fn parse() -> Self {
        Self::parse_from(std::env::args_os())
    }
}

impl<S: Service> Clone for Config<S> {
    fn clone(&self) -> Self {
        Self {
            common: self.common.clone(),
            own: self.own.clone(),
        }
    }
}

impl<S: Service> fmt::Debug for Config<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("service", &S::INFO.name)
            .field("common", &self.common)
            .field("own", &self.own)
            .finish()
    }
}

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
        // Boxed: setting up a consumer (and its replays) is a large future.
        Box::pin(DurableConsumer::ensure(
            self.store.jetstream(),
            spec,
            self.store.metrics().clone(),
        ))
        .await
        .map(|consumer| consumer.with_disconnects(self.store.disconnects().clone()))
        .with_context(|| format!("cannot set up the consumer {durable}"))
    }

    /// Runs `consumer` with `handler` as one of `workers`, until the service stops.
    pub fn spawn_consumer<H: Handler>(
        &self,
        workers: &mut Workers,
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A service with one setting of its own.
    #[derive(Debug)]
    struct Dummy;

    #[derive(Debug, Clone, clap::Args)]
    struct DummySettings {
        /// How loud.
        #[arg(long, env = "DUMMY_LEVEL", default_value_t = 3)]
        level: u8,
    }

    impl Service for Dummy {
        const INFO: Info = Info::new("dummy", 9999, "A service for tests");
        type Settings = DummySettings;

        fn new(
            _config: &Config<Self>,
            _registry: &mut prometheus_client::registry::Registry,
        ) -> Self {
            Self
        }

        async fn start(&self, _nats: Started) -> anyhow::Result<Workers> {
            Ok(Workers::new())
        }
    }

    #[test]
    fn a_service_config_has_the_common_settings_and_its_own() {
        let config = Config::<Dummy>::try_parse_from(["dummy", "--level", "5"]).expect("valid");
        assert_eq!(config.own.level, 5);
        assert_eq!(config.common.stream_replicas, 1);
        assert_eq!(config.common.http_addr, None);
        assert_eq!(
            Dummy::INFO.default_http_addr(),
            "0.0.0.0:9999".parse().expect("addr")
        );
        let help = Config::<Dummy>::command().render_help().to_string();
        assert!(help.starts_with("A service for tests"), "{help}");
        assert!(
            help.contains("--nats-url") && help.contains("--level"),
            "{help}"
        );
    }

    #[test]
    fn a_bad_common_or_own_setting_is_refused_by_name() {
        for args in [
            ["dummy", "--level", "loud"],
            ["dummy", "--http-addr", "nowhere"],
        ] {
            let error = Config::<Dummy>::try_parse_from(args).expect_err("invalid");
            assert!(error.to_string().contains(args[1]), "{error}");
        }
    }
}
