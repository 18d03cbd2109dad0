"""The one write path for incidents, offers, responders' shifts and safety timers.

Every state change is one of the public functions of these modules, named
``<thing>_<verb>``, keyword-only, taking ``now``, safe to repeat (a double-tapped
accept returns the same result instead of doing it twice). Each runs in one
transaction (``audit.atomic``), asks ``core.lifecycle`` for the transition, persists it
with a compare-and-set on the row's version, writes the timeline event (with its audit
entry and, after commit, a live push), and queues messages in the outbox in the same
transaction.

The modules, from the bottom up (each imports only those above it in this list):

- ``locks``: row locks in the one global order, and retrying a broken deadlock.
- ``records``: the rows every action writes: timeline events, attention flags, timers.
- ``search``: who is near enough to be offered an incident (reads only).
- ``safety_timers``: a responder's safety timer while on scene (start, end, "I'm OK").
- ``ambulance``: an ambulance proposed or requested (the last escalation).
- ``rounds``: a round of offers and its messages, widening, an early ambulance.
- ``moves``: moving an incident through the lifecycle and carrying out the effects.
- ``opening``: the one door: ``IncidentRequest`` in, an incident with its offers out.
- ``answers``: what the person adds after sending: the questions they skipped, details.
- ``relocate``: setting or moving the point (a map click, a corrected place): re-offered.
- ``backup``: other responders sent to a responder in trouble; a safety check missed.
- ``offers``: a responder accepts or declines; giving offers back.
- ``freed``: a responder who comes free is offered the most urgent waiting incident.
- ``dispatcher``: what a dispatcher does: assign, escalate, cancel, note.
- ``reports``: what the responder reports: en route, on scene, done, outcome.
- ``shifts``: going on and off shift, and moving (a new location).
- ``timed``: what happens when a timer fires (``dispatch.timers`` runs them).

Lock order, everywhere: the responder's row first (when the action is about a
responder), then incident rows by ascending id, then an incident's offers and safety
timers; the audit head last, at commit (``audit.atomic``). So no two actions can wait
on each other in a circle; a deadlock the database detects anyway is retried
(``locks.retry_on_deadlock``) and answers 503 if it persists.
"""
