"""unittest suites for the tradai package (run: .venv/bin/python -m unittest discover -s python/tests -t python)."""
