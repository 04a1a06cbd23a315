//! Pure domain logic: `decide(&state, command) -> Result<Vec<Event>, Rejection>` and
//! `evolve(state, &event) -> state`, plus the restaurant's slot schedule.
//!
//! Rule: no I/O, no async runtime, no clock. Anything that depends on time or on the
//! world arrives inside the command, so every rule is a plain function to unit-test.

pub mod aggregate;
pub mod booking;
pub mod combinations;
pub mod schedule;
pub mod table;

pub use aggregate::Aggregate;
pub use booking::{
    Booking, BookingCommand, BookingRejection, MAX_CHANGES, MAX_REASSIGNMENTS, NextPlace,
};
pub use combinations::{
    Combination, CombinationCommand, CombinationRejection, Combinations, held_together,
};
pub use schedule::{InvalidSchedule, SlotSchedule};
pub use table::{Lock, Table, TableCommand, TableRejection, TableStatus};
