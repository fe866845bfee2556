"""Benchmarks: ``python -m clients.bench [lobby|intake|queue|vendor|all]`` (see runner.py)."""
