//! What the use cases' tests share: a floor as the read side would show it.

use std::collections::BTreeSet;

use events::TableId;
use events::read_model::{TableView, TablesView};
use jiff::civil::Date;

use super::Floors;
use crate::adapters::reads::ReadError;
use crate::seating::floor::Floor;

pub fn table(id: &str) -> TableId {
    TableId::parse(id).expect("table id")
}

/// The floor the read side shows: these tables, these locks.
pub struct Shown {
    pub tables: Vec<(&'static str, u8)>,
    pub locks: Vec<(&'static str, events::TimeSlot)>,
}

impl Floors for Shown {
    async fn floor(&self, _dates: BTreeSet<Date>) -> Result<Floor, ReadError> {
        let mut tables = TablesView::default();
        for (id, seats) in &self.tables {
            let view = TableView {
                seats: *seats,
                removed: false,
                sequence: 1,
            };
            tables.tables.insert(table(id), view);
        }
        let locks = self.locks.iter().map(|(id, slot)| (table(id), *slot));
        Ok(Floor {
            tables,
            locks: locks.collect(),
        })
    }
}
