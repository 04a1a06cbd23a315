//! The booker's use cases, one module each, outside HTTP: a function over the parts it
//! needs (the bookings' repository, the floor, the claims, the outcomes), so it runs the
//! same behind a handler and in a given/when/then test over the in-memory event log.
//! Handlers parse, call one use case and map its error; a use case knows nothing of HTTP.
//!
//! Rule: imports the domain, seating, the adapters and the edge; never `crate::http`.

pub mod alternatives;
pub mod book;
pub mod cancel;
pub mod change;
pub mod erase;
pub mod lookup;
#[cfg(test)]
mod testing;

use std::collections::BTreeSet;
use std::future::Future;

use events::{BookingId, Customer};
use jiff::civil::Date;

use crate::adapters::customers::{CustomerError, Customers, Sealed};
use crate::adapters::reads::{ReadError, ReadModels};
use crate::edge::access::AccessCode;
use crate::seating::floor::Floor;

/// Where a use case reads the floor: the read models in the service, a fixed floor in
/// tests.
pub trait Floors: Send + Sync {
    /// The tables, combinations and the locks of the day documents of `dates`.
    fn floor(&self, dates: BTreeSet<Date>)
    -> impl Future<Output = Result<Floor, ReadError>> + Send;
}

impl Floors for ReadModels {
    async fn floor(&self, dates: BTreeSet<Date>) -> Result<Floor, ReadError> {
        Floor::read_dates(self, dates).await
    }
}

/// Seals a guest's details with their booking's own key (ADR 0024).
pub trait Sealer: Send + Sync {
    fn seal(
        &self,
        booking: BookingId,
        customer: &Customer,
        code: &AccessCode,
    ) -> impl Future<Output = Result<Sealed, CustomerError>> + Send;
}

impl Sealer for Customers {
    async fn seal(
        &self,
        booking: BookingId,
        customer: &Customer,
        code: &AccessCode,
    ) -> Result<Sealed, CustomerError> {
        Customers::seal(self, booking, customer, code).await
    }
}
