//! What the writes suite measures, and the settings it runs with.

/// The connection of the default settings that writes to the sandbox's Apidae stand-in.
pub(crate) const CONNECTION: &str = "sandbox_apidae";
/// Objects per Apidae call: the connection's page size, the API's maximum.
pub(crate) const CHUNK_SIZE: usize = contract::MAX_CHUNK_OBJECTS;
/// Deliveries each worker may hold at once: the default of the settings.
pub(crate) const PREFETCH: u16 = 16;
/// The numbers of workers timed, in order; the first is the baseline of the speed-up.
pub(crate) const WORKER_COUNTS: [usize; 2] = [1, 2];

/// The parameters of the writes suite.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    /// Runs timed for each number of workers.
    pub(crate) runs: u32,
    /// Objects one run writes, one descriptor each.
    pub(crate) objects: usize,
}

impl Plan {
    /// Apidae calls one complete run makes: one per chunk.
    pub(crate) fn calls(&self) -> usize {
        self.objects.div_ceil(CHUNK_SIZE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ten_thousand_objects_take_two_hundred_calls() {
        let plan = Plan {
            runs: 1,
            objects: 10_000,
        };
        assert_eq!(plan.calls(), 200);
        let plan = Plan {
            runs: 1,
            objects: 10_001,
        };
        assert_eq!(plan.calls(), 201);
    }
}
