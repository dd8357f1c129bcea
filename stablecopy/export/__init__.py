"""Exports for researchers: WACZ packages, CDXJ indexes and the catalogue as JSON lines."""
