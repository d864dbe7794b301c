"""Synthetic histories and independent worlds (demo data and test fixtures)."""
