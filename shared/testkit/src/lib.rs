//! Test harness shared by the integration tests: broker isolation, sandbox start-up, event collection.
