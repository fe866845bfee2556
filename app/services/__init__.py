"""Use cases: load, decide with the domain, store, announce after commit."""
