//! notifier: emails the guests of bookings with a customer email, over SMTP: the
//! confirmation with the access code, changes, cancellations, and a reminder before the
//! slot (API.md "Email (notifier service)", ADR 0031).
//!
//! Rule: reads `BOOKINGS` and the bookings' data keys; never appends to `TABLES` or
//! `BOOKINGS`; writes only its own sent records.

pub mod emails;
pub mod letters;
pub mod mailer;
pub mod reminders;
pub mod sent;

use std::sync::Arc;
use std::time::Duration;

use eventstore::{Backoff, ConsumerSpec, Repository};
use jiff::tz::TimeZone;
use prometheus_client::registry::Registry;
use service_kit::{Info, Service, Started, Workers, parse_duration};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::emails::{Emails, Metrics, Post};
use crate::mailer::{Mailer, SmtpUrl};
use crate::reminders::Reminders;
use crate::sent::SentRecords;

/// Durable consumer of the emails on `BOOKINGS`.
pub const CONSUMER: &str = "notifier";
/// Bookings kept in memory.
const BOOKING_CACHE: usize = 10_000;

/// Configuration of the notifier: the common settings and these.
pub type Config = service_kit::Config<Notifier>;

/// The notifier's own settings.
#[derive(Debug, Clone, clap::Args)]
pub struct Settings {
    /// Where mail goes: smtp://[user:password@]host[:port].
    #[arg(long, env = "SMTP_URL", default_value = "smtp://127.0.0.1:1025", value_parser = SmtpUrl::parse)]
    pub smtp_url: SmtpUrl,
    /// The sender of the emails.
    #[arg(
        long,
        env = "MAIL_FROM",
        default_value = "Restaurant <bookings@restaurant.invalid>"
    )]
    pub mail_from: String,
    /// How long before the slot the reminder goes out.
    #[arg(long, env = "REMINDER_BEFORE", default_value = "24h", value_parser = parse_duration)]
    pub reminder_before: Duration,
    /// The restaurant's time zone: the emails give times in it.
    #[arg(long, env = "RESTAURANT_TIMEZONE", default_value = "Europe/Paris", value_parser = parse_timezone)]
    pub timezone: TimeZone,
    /// The guest page the emails link to.
    #[arg(long, env = "PUBLIC_URL", default_value = "http://localhost:8080/")]
    pub public_url: String,
}

fn parse_timezone(name: &str) -> Result<TimeZone, String> {
    TimeZone::get(name).map_err(|_| format!("{name:?} is not a known IANA time zone"))
}

/// The notifier on the service scaffold.
#[derive(Debug)]
pub struct Notifier {
    settings: Settings,
    metrics: Metrics,
}

impl Service for Notifier {
    const INFO: Info = Info::new("notifier", 8083, "Emails to guests over SMTP");
    type Settings = Settings;

    fn new(config: &Config, registry: &mut Registry) -> Self {
        let metrics = Metrics::default();
        registry.register(
            "notifier_emails",
            "Emails by kind and outcome (sent, refused, erased, no_email)",
            metrics.emails.clone(),
        );
        Self {
            settings: config.own.clone(),
            metrics,
        }
    }

    async fn start(&self, started: Started) -> anyhow::Result<Workers> {
        let replicas = started.stream_settings().replicas;
        let js = started.store.jetstream().clone();
        let keys = sealing::DataKeys::open(started.client.clone(), &js, replicas).await?;
        let sent = SentRecords::open(&js, replicas).await?;
        let mailer = Mailer::new(&self.settings.smtp_url, &self.settings.mail_from)
            .map_err(anyhow::Error::msg)?;
        let post = Arc::new(Post {
            bookings: Arc::new(Repository::new(started.store.clone(), BOOKING_CACHE, 16)),
            keys,
            mailer,
            sent,
            zone: self.settings.timezone.clone(),
            guest_page: self.settings.public_url.clone(),
            metrics: self.metrics.clone(),
        });
        // The mail server may be down for long: retried every minute at most.
        let backoff = Backoff {
            initial: Duration::from_millis(500),
            max: Duration::from_secs(60),
        };
        // Both read the stream from its start: a booking made before the notifier first
        // ran gets its emails too; the history of a store from a release before the
        // notifier is not told (emails::Heard).
        let emails = ConsumerSpec {
            backoff,
            ..ConsumerSpec::new(events::names::BOOKINGS_STREAM, CONSUMER)
        };
        let emails = started.consumer(emails).await?;
        let reminders = ConsumerSpec {
            backoff,
            ..ConsumerSpec::timers(events::names::BOOKINGS_STREAM, reminders::CONSUMER)
        };
        let reminders = started.consumer(reminders).await?;
        let mut workers = JoinSet::new();
        let consumer_made = emails.created();
        started.spawn_consumer(
            &mut workers,
            emails,
            Emails {
                post: post.clone(),
                consumer_made,
            },
        );
        let consumer_made = reminders.created();
        started.spawn_consumer(
            &mut workers,
            reminders,
            Reminders {
                post,
                before: self.settings.reminder_before,
                consumer_made,
            },
        );
        Ok(workers)
    }
}

/// The notifier, bound to its address and ready to run.
pub type App = service_kit::App<Notifier>;

/// Builds and runs the notifier until `shutdown`.
pub async fn run(config: Config, shutdown: CancellationToken) -> anyhow::Result<()> {
    service_kit::run::<Notifier>(config, shutdown).await
}
