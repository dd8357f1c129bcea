"""Clean text: trafilatura behind one function, and consent-banner rules kept as data."""
