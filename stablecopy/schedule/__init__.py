"""Recurring crawls: cadences, the scheduler that starts due runs, where they run (local processes or Scrapyd), and who is told when they end."""
