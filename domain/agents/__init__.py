"""Agents (seed 004): the built-in agents and every invocation of one, as events."""
