"""Aggregates, events, rules and one eventsourcing Application per bounded context."""
