"""Replay with pywb: an index kept in step with the catalogue, and pywb run in its own environment."""
