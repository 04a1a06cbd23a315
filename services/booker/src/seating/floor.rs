//! The read side's picture of the floor over some days: the tables, the combinations and
//! every lock that can overlap one of the days' slots. What availability, assignment and
//! alternatives are computed from.

use std::collections::BTreeSet;

use events::read_model::{BusyView, DayView, Key, TablesView};
use events::{TableId, TimeSlot};
use futures_util::future::try_join_all;
use jiff::civil::Date;

use crate::adapters::reads::{ReadError, ReadModels};
use crate::seating::availability::{Day, Held, day_documents};

/// Tables, combinations and locks, as the read models have them.
#[derive(Debug, Default)]
pub struct Floor {
    pub tables: TablesView,
    /// (table, slot) of every lock read.
    pub locks: Vec<(TableId, TimeSlot)>,
}

impl Floor {
    /// The floor for `days`: the locks of every day document that can hold one
    /// overlapping their slots.
    pub async fn read(reads: &ReadModels, days: &[Day]) -> Result<Self, ReadError> {
        Self::read_dates(reads, day_documents(days)).await
    }

    /// The floor with the locks of the day documents of `dates`.
    pub async fn read_dates(reads: &ReadModels, dates: BTreeSet<Date>) -> Result<Self, ReadError> {
        let tables = reads.get::<TablesView>(&Key::Tables);
        let locks =
            async {
                let mut locks = Vec::new();
                if reads.has_busy_index() {
                    let busy =
                        try_join_all(dates.into_iter().map(|date| async move {
                            reads.get::<BusyView>(&Key::Busy(date)).await
                        }))
                        .await?;
                    for view in busy.iter().flatten() {
                        locks.extend(view.held().map(|(table, slot)| (table.clone(), slot)));
                    }
                } else {
                    // A generation of an earlier release, until the projector has rebuilt it.
                    let days =
                        try_join_all(dates.into_iter().map(|date| async move {
                            reads.get::<DayView>(&Key::Day(date)).await
                        }))
                        .await?;
                    for view in days.iter().flatten() {
                        let held = view.locks.values();
                        locks.extend(held.map(|lock| (lock.table_id.clone(), lock.time_slot)));
                    }
                }
                Ok::<_, ReadError>(locks)
            };
        let (tables, locks) = tokio::try_join!(tables, locks)?;
        Ok(Self {
            tables: tables.unwrap_or_default(),
            locks,
        })
    }

    /// The floor with the locks of `tables` in `slot` left out: the place a booking holds,
    /// free to itself when it is changed.
    #[must_use]
    pub fn without(mut self, tables: &[TableId], slot: TimeSlot) -> Self {
        self.locks
            .retain(|(table, held)| !(*held == slot && tables.contains(table)));
        self
    }

    /// The locks, indexed.
    pub fn held(&self) -> Held<'_> {
        Held::new(self.locks.iter().map(|(table, slot)| (table, *slot)))
    }
}
