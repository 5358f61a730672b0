//! A faithful local stand-in for the upstream APIs, with seeded data, latency and fault injection.
