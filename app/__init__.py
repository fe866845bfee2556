"""Madoguchi (窓口): the service that runs a city hall's counters."""
