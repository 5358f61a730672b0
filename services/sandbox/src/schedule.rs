//! Data changes pinned to the number of successful answers of one API, so a
//! test can change the data between two pages without racing its client.

/// A change applied right after the `after_requests`-th successful answer of
/// its API (0 applies it before the first request).
#[derive(Debug, Clone, PartialEq)]
pub struct ScheduledChange<C> {
    /// Successful answers to count before the change applies.
    pub after_requests: u64,
    /// What changes.
    pub change: C,
}

impl<C> ScheduledChange<C> {
    /// `change`, applied right after the `after_requests`-th successful answer.
    pub fn new(after_requests: u64, change: C) -> Self {
        Self {
            after_requests,
            change,
        }
    }
}

/// The changes still to apply and the count of successful answers so far.
#[derive(Debug)]
pub(crate) struct Schedule<C> {
    answered: u64,
    pending: Vec<ScheduledChange<C>>,
}

impl<C> Schedule<C> {
    pub(crate) fn new(changes: Vec<ScheduledChange<C>>) -> Self {
        Self {
            answered: 0,
            pending: changes,
        }
    }

    /// Counts one more successful answer.
    pub(crate) fn count_answer(&mut self) {
        self.answered += 1;
    }

    /// Removes and returns the changes now due, in the order they were given.
    pub(crate) fn take_due(&mut self) -> Vec<C> {
        let answered = self.answered;
        let (due, pending) = std::mem::take(&mut self.pending)
            .into_iter()
            .partition(|scheduled| scheduled.after_requests <= answered);
        self.pending = pending;
        due.into_iter().map(|scheduled| scheduled.change).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_come_due_after_their_answer_in_the_given_order() {
        let mut schedule = Schedule::new(vec![
            ScheduledChange::new(2, "b"),
            ScheduledChange::new(0, "start"),
            ScheduledChange::new(1, "a"),
            ScheduledChange::new(2, "c"),
        ]);
        assert_eq!(schedule.take_due(), vec!["start"]);
        schedule.count_answer();
        assert_eq!(schedule.take_due(), vec!["a"]);
        assert!(schedule.take_due().is_empty());
        schedule.count_answer();
        assert_eq!(schedule.take_due(), vec!["b", "c"]);
        schedule.count_answer();
        assert!(schedule.take_due().is_empty());
    }
}
