//! The edge's guards, below HTTP: access codes and the server keys of their digests,
//! the guessing limits, `Idempotency-Key` records and the client's address.
//!
//! Rule: imports nothing of the booker's other rooms but `adapters`; never `http` or
//! `use_cases`.

pub mod access;
pub mod client_address;
pub mod guard;
pub mod idempotency;
pub mod keys;
