"""Runs: agent runs, their append-only event log, the execution tasks and the live consumer."""
