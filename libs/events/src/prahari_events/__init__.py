"""Prahari's shared core: event contracts, the PostgreSQL event store, the transactional
outbox, idempotent Kafka consumers and the plumbing every service uses."""
