//! The time a repository prunes its aggregates by.

use std::sync::Arc;

/// Where a repository (and the commands it runs) takes the time from: the system clock,
/// or a fixed instant in tests.
#[derive(Clone)]
pub struct Clock(Arc<dyn Fn() -> jiff::Timestamp + Send + Sync>);

impl Clock {
    pub fn system() -> Self {
        Self(Arc::new(jiff::Timestamp::now))
    }

    pub fn fixed(at: jiff::Timestamp) -> Self {
        Self(Arc::new(move || at))
    }

    pub fn now(&self) -> jiff::Timestamp {
        (self.0)()
    }
}

impl Default for Clock {
    fn default() -> Self {
        Self::system()
    }
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Clock").field(&self.now()).finish()
    }
}
