//! Runs every worker with distinctive secrets and finds none of them in logs, events, dead letters or spans.
