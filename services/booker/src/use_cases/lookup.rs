//! Look up: a guest finds their booking with their email and the access code. Guessing is
//! limited per client and per email (ADR 0023): while either scope is limited nothing is
//! looked at, and a code that matches no booking of the email counts against both. A
//! wrong code, an unknown email and an erased customer get the same answer.

use std::future::Future;
use std::net::IpAddr;

use events::read_model::{BookingView, Key, LocatorEntry, LocatorView, locator_prefix};
use events::{AccessCodeDigest, BookingId};

use crate::adapters::customers::Customers;
use crate::adapters::reads::{ReadError, ReadModels};
use crate::edge::access::AccessCode;
use crate::edge::guard::{Guard, GuardError, Scope};
use crate::edge::keys::Keys;

/// Where bookings are found by email, and read.
pub trait Directory: Send + Sync {
    /// The bookings made with `email` and the digests of their access codes.
    fn located(
        &self,
        email: &str,
    ) -> impl Future<Output = Result<Vec<(BookingId, AccessCodeDigest)>, ReadError>> + Send;

    /// The booking `id` as the read side shows it.
    fn booking(
        &self,
        id: BookingId,
    ) -> impl Future<Output = Result<Option<BookingView>, ReadError>> + Send;
}

/// The read models, finding an email by every digest it may have been stored under.
#[derive(Debug)]
pub struct ReadDirectory<'a> {
    pub reads: &'a ReadModels,
    pub customers: &'a Customers,
}

impl Directory for ReadDirectory<'_> {
    /// Every digest the email may be found by: keyed with each server key, and the plain
    /// one of earlier releases.
    async fn located(&self, email: &str) -> Result<Vec<(BookingId, AccessCodeDigest)>, ReadError> {
        let digests = self.customers.email_digests(email);
        let mut found = Vec::new();
        for digest in &digests {
            let entries: Vec<(String, LocatorEntry)> =
                self.reads.list(&locator_prefix(digest)).await?;
            found.extend(entries.into_iter().filter_map(|(id, entry)| {
                Some((BookingId::parse(&id).ok()?, entry.access_code_digest))
            }));
        }
        // Bookings projected by a release before the per-booking entries (ADR 0017).
        if let Some(legacy) = digests.last() {
            let key = Key::LegacyLocator(legacy.clone());
            let view: Option<LocatorView> = self.reads.get(&key).await?;
            found.extend(view.into_iter().flat_map(|view| view.bookings));
        }
        Ok(found)
    }

    async fn booking(&self, id: BookingId) -> Result<Option<BookingView>, ReadError> {
        self.reads.get(&Key::Booking(id)).await
    }
}

/// Counts wrong guesses and says when a scope is limited.
pub trait Attempts: Send + Sync {
    fn check(&self, scopes: &[Scope<'_>]) -> impl Future<Output = Result<(), GuardError>> + Send;
    fn failed(&self, scopes: &[Scope<'_>]) -> impl Future<Output = Result<(), GuardError>> + Send;
}

impl Attempts for Guard {
    async fn check(&self, scopes: &[Scope<'_>]) -> Result<(), GuardError> {
        Guard::check(self, scopes).await
    }

    async fn failed(&self, scopes: &[Scope<'_>]) -> Result<(), GuardError> {
        Guard::failed(self, scopes).await
    }
}

/// Why a lookup found nothing to show.
#[derive(Debug, thiserror::Error)]
pub enum LookupError {
    #[error("no booking for this email and access code")]
    NoMatch,
    #[error(transparent)]
    Guard(#[from] GuardError),
    #[error(transparent)]
    Read(#[from] ReadError),
}

/// What looking up needs.
#[derive(Debug)]
pub struct Lookup<'a, D: Directory, A: Attempts> {
    pub directory: &'a D,
    pub attempts: &'a A,
    pub keys: &'a Keys,
}

impl<D: Directory, A: Attempts> Lookup<'_, D, A> {
    /// The booking `client` asks for with `email` and `code`.
    pub async fn lookup(
        &self,
        client: IpAddr,
        email: &str,
        code: &AccessCode,
    ) -> Result<BookingView, LookupError> {
        let scopes = [Scope::Client(client), Scope::Email(email)];
        self.attempts.check(&scopes).await?;
        let found = self
            .directory
            .located(email)
            .await?
            .into_iter()
            .find(|(id, digest)| code.matches(self.keys, *id, digest));
        let Some((id, _)) = found else {
            self.attempts.failed(&scopes).await?;
            return Err(LookupError::NoMatch);
        };
        match self.directory.booking(id).await? {
            // An erased customer's email finds nothing any more.
            Some(booking) if !booking.customer_erased => Ok(booking),
            _ => Err(LookupError::NoMatch),
        }
    }
}

#[cfg(test)]
#[path = "lookup/tests.rs"]
mod tests;
