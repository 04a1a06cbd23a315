//! The whole system over HTTP: booker, table-manager and projector in-process on a real
//! nats-server, called as a client of docs/contract/API.md would.

mod bookings;
mod caching;
mod change;
mod combinations;
mod docs;
mod emails;
mod erasure;
mod floods;
mod guessing;
mod hot_spots;
mod least_privilege;
mod limits;
mod pages;
mod party_size;
mod permissions;
mod reads;
mod rebuild;
mod restarts;
mod saga;
mod tables;
