"""Beacon detection: capture sources, flow table, scoring, allowlists and response."""
