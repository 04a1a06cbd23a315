//! What every request handler shares: the settings, and the NATS-backed parts once the
//! service is connected.

use std::sync::{Arc, OnceLock};

use domain::Booking;
use eventstore::{EventStore, Repository};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use service_kit::Secret;

use super::error::ApiError;
use crate::adapters::customers::{CustomerError, Customers};
use crate::adapters::known_tables::KnownTables;
use crate::adapters::outcomes::Outcomes;
use crate::adapters::reads::{ReadError, ReadModels};
use crate::adapters::table_commands::TableCommands;
use crate::edge::client_address::TrustedProxies;
use crate::edge::guard::{Guard, GuardError};
use crate::edge::idempotency::IdempotencyKeys;
use crate::edge::keys::Keys;
use crate::seating::assignment::Claims;
use crate::seating::rules::SlotRules;
use crate::use_cases::book::Book;
use crate::use_cases::change::Change;
use crate::use_cases::lookup::ReadDirectory;

/// What the handlers need once NATS is connected.
#[derive(Debug)]
pub struct Backend {
    pub tables: TableCommands,
    /// Places given to parties and not yet decided (ADR 0027).
    pub claims: Arc<Claims>,
    pub known_tables: KnownTables,
    pub guard: Guard,
    pub customers: Customers,
    pub bookings: Arc<Repository<Booking>>,
    pub outcomes: Arc<Outcomes>,
    pub idempotency: IdempotencyKeys,
    pub reads: Arc<ReadModels>,
}

impl Backend {
    /// Where bookings are found by email and read.
    pub fn directory(&self) -> ReadDirectory<'_> {
        ReadDirectory {
            reads: &self.reads,
            customers: &self.customers,
        }
    }

    /// The change use case over this booker's parts.
    pub fn change<'a>(&'a self, state: &'a AppState) -> Change<'a, EventStore, ReadModels> {
        Change {
            bookings: &self.bookings,
            floors: &self.reads,
            claims: &self.claims,
            outcomes: &self.outcomes,
            rules: &state.rules,
        }
    }

    /// The book use case over this booker's parts.
    pub fn book<'a>(&'a self, state: &'a AppState) -> Book<'a, EventStore, ReadModels, Customers> {
        Book {
            bookings: &self.bookings,
            known_tables: &self.known_tables,
            floors: &self.reads,
            claims: &self.claims,
            outcomes: &self.outcomes,
            customers: &self.customers,
            keys: &state.keys,
            rules: &state.rules,
        }
    }
}

/// Shared by every request.
#[derive(Debug)]
pub struct AppState {
    /// Set once the service is connected and set up; until then NATS routes answer 503.
    pub backend: OnceLock<Backend>,
    pub admin_token: Secret,
    pub rules: SlotRules,
    /// Whose `X-Forwarded-For` names the client.
    pub trusted_proxies: TrustedProxies,
    /// The server keys of the access-code digests.
    pub keys: Keys,
    /// Requests refused because a store is full, by store.
    pub limit_refusals: Family<Vec<(&'static str, &'static str)>, Counter>,
}

impl AppState {
    pub fn new(
        admin_token: Secret,
        rules: SlotRules,
        trusted_proxies: TrustedProxies,
        keys: Keys,
    ) -> Self {
        Self {
            backend: OnceLock::new(),
            admin_token,
            rules,
            trusted_proxies,
            keys,
            limit_refusals: Family::default(),
        }
    }

    /// Counts a refusal because `store` is full.
    pub(crate) fn refused_full(&self, store: &'static str) {
        self.limit_refusals
            .get_or_create_owned(&vec![("store", store)])
            .inc();
    }

    pub(crate) fn backend(&self) -> Result<&Backend, ApiError> {
        self.backend.get().ok_or_else(|| {
            ApiError::unavailable(anyhow::anyhow!("the booker is not connected to NATS yet"))
        })
    }

    pub(crate) fn reads(&self) -> Result<&ReadModels, ApiError> {
        self.backend().map(|backend| backend.reads.as_ref())
    }
}

impl From<CustomerError> for ApiError {
    fn from(error: CustomerError) -> Self {
        match error {
            CustomerError::Unavailable(_) => Self::unavailable(error),
            CustomerError::Corrupt(_) => Self::internal(error),
        }
    }
}

impl From<GuardError> for ApiError {
    fn from(error: GuardError) -> Self {
        match error {
            GuardError::Limited(wait) => Self::TooManyAttempts(wait),
            GuardError::Unavailable(_) => Self::unavailable(error),
        }
    }
}

impl From<ReadError> for ApiError {
    fn from(error: ReadError) -> Self {
        match error {
            ReadError::NotReady
            | ReadError::Unavailable { .. }
            | ReadError::ListUnavailable { .. } => Self::unavailable(error),
            ReadError::Undecodable { .. } => Self::internal(error),
        }
    }
}
