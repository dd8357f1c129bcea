"""The frontier: requests waiting to be fetched, spilled to disk past a bound (one process), or
one Redis queue and duplicate filter for every worker of a shared crawl."""
