"""The process that runs Spotline's background work, and the commands that start it.

``steps.default_steps()`` lists one step function per app (dispatch timers, check-in deadlines,
the outbox, and the housekeeping that deletes what is no longer needed); ``loop.Worker``
runs them in passes, with one backoff and one error record for all of them.
``spotline worker`` runs the loop on its own; ``spotline run`` serves the web and runs
it in the same process; ``spotline purge`` runs retention at once (``retention``).
Nothing imports this package: it sits on top of every app.
"""
