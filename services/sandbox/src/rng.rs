//! A tiny deterministic pseudo-random generator, so seeded data and fault
//! schedules repeat exactly from one run to the next.

/// SplitMix64: small, fast and good enough for test data; not for secrets.
#[derive(Debug, Clone)]
pub(crate) struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    pub(crate) fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    /// A generator whose output depends only on `seed` and `stream`, so that
    /// each request ordinal gets its own independent draw.
    pub(crate) fn for_stream(seed: u64, stream: u64) -> Self {
        let mut mixer = Self::new(seed ^ stream.wrapping_mul(0xA24B_AED4_963E_E407));
        Self::new(mixer.next_u64())
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A float uniformly drawn from `[0, 1)`.
    pub(crate) fn next_unit(&mut self) -> f64 {
        // 53 random bits fill the mantissa of an f64 exactly.
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// An integer uniformly drawn from `[0, bound)`; `bound` must be positive.
    pub(crate) fn below(&mut self, bound: u64) -> u64 {
        self.next_u64() % bound
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_sequence() {
        let mut a = SplitMix64::new(7);
        let mut b = SplitMix64::new(7);
        let first: Vec<u64> = (0..5).map(|_| a.next_u64()).collect();
        let second: Vec<u64> = (0..5).map(|_| b.next_u64()).collect();
        assert_eq!(first, second);
    }

    #[test]
    fn unit_draws_stay_in_the_half_open_interval() {
        let mut rng = SplitMix64::new(42);
        assert!(
            (0..10_000)
                .map(|_| rng.next_unit())
                .all(|u| (0.0..1.0).contains(&u))
        );
    }

    #[test]
    fn streams_of_one_seed_differ() {
        let one = SplitMix64::for_stream(1, 1).next_u64();
        let two = SplitMix64::for_stream(1, 2).next_u64();
        assert_ne!(one, two);
    }
}
