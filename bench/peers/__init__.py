"""The peers of the benchmark, run in their own virtualenv."""
