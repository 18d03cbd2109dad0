"""Fault tests (`make faults`): kill, restart, lose nothing, do nothing twice.

See faults/run.py for the scenarios and docs/performance.md for the results.
"""
