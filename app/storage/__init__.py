"""The only package that builds SQL."""
