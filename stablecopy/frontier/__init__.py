"""The shared frontier: one Redis queue and duplicate filter for every worker of a crawl."""
