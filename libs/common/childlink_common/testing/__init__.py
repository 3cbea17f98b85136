"""Helpers for tests: never imported by the services themselves."""
