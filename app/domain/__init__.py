"""The business rules: pure functions and enums, no I/O."""
