"""The one timer engine: durable timers as rows, claimed once, fired, retried.

Apps keep their timer rows in tables of their own (``dispatch.Timer`` for offer expiry,
escalation deadlines, purges and responders' safety checks; ``checkins.CheckInDeadline``
for people using alone), each inheriting ``timers.models.DurableTimer``, and hand the
table and a handler to ``timers.engine``: claiming, firing, retrying and postponing are
the same code for every kind, with the same poison-row policy.
"""
