//! The dataset shared by the request handlers: queries read it, mutations
//! change it, each request seeing the changes of the requests before it.

use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use super::dataset::Dataset;

/// The served dataset behind a lock.
#[derive(Debug)]
pub(crate) struct LiveDataset(RwLock<Dataset>);

impl LiveDataset {
    pub(crate) fn new(dataset: Dataset) -> Self {
        Self(RwLock::new(dataset))
    }

    /// Shared access for a whole query. A handler that panicked while
    /// holding the lock left whole values behind, so poisoning is ignored.
    pub(crate) fn read(&self) -> RwLockReadGuard<'_, Dataset> {
        self.0.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// Exclusive access for one mutation field.
    pub(crate) fn write(&self) -> RwLockWriteGuard<'_, Dataset> {
        self.0.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// A copy of the data as it is now.
    pub(crate) fn snapshot(&self) -> Dataset {
        self.read().clone()
    }
}
