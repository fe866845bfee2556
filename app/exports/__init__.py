"""Deterministic serialisation of sealed vendor batches."""
