//! The booker's adapters to NATS: the read models, the outcomes of bookings, the
//! commands to table-manager, the sealed customers and the tables known to exist.
//!
//! Rule: speaks NATS and the events crate; never imports another room of the booker
//! except `edge` for the access codes and keys sealing needs.

pub mod customers;
pub mod known_tables;
pub mod outcomes;
pub mod reads;
pub mod table_commands;
