//! The metrics endpoints served over HTTP, as Prometheus and an orchestrator see them.

mod endpoints;
