"""Clients of the Madoguchi service: load generators and browser clients."""
