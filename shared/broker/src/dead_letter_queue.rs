//! The dead-letter queue as people act on it: list, show, replay and purge.
