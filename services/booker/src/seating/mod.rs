//! Seating, as pure as it can be: which slots can be booked, which tables and
//! combinations are free, where a party goes and where it fits instead, and the claims
//! that keep two parties from being given one table at once.
//!
//! Rule: computes over the read side's floor; reads it through `adapters`, never `http`
//! or `use_cases`.

pub mod assignment;
pub mod availability;
pub mod destination;
pub mod floor;
pub mod rules;
