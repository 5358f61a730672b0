//! The worker shell against a real broker: readiness and delivery metrics.

mod consume;
