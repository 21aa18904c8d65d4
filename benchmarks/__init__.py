"""Speed benchmarks: run as `.venv/bin/python -m benchmarks.<name>` from the repository root."""
