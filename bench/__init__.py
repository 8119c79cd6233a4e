"""Benchmarks that print their figures (run them as scripts, see each module's docstring)."""
