"""Staffing what-if: a discrete-event model of the central entry and review queue (issue 23).

The model runs on simpy; its routing, queue order, four-eyes exclusions, verify rule, outcomes
and legal due dates are the service's own rules, imported from app.domain. Nothing here does
I/O except reading a profile file and writing plots.
"""
