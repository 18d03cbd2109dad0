"""The pure domain of Spotline.

Nothing in this package imports Django or reads the clock: every function that depends
on time takes ``now`` as a keyword argument, so the planner can run the same policy on
simulated time and tests need no database.
"""
