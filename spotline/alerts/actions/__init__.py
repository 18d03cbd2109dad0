"""The one write path for community drug alerts.

Every change is a public function of these modules, keyword-only, taking ``now``, in
one transaction (``audit.atomic``) with its audit entry (codes and ids, never text):

- ``areas``: the organization's alert areas (a GeoJSON polygon or an H3 cell).
- ``subscribers``: subscribing by SMS, Web Push or email; STOP deletes at once.
- ``reports``: anonymous reports in (SMS, web, a responder's outcome, drug checking),
  dismissing them, and their purge.
- ``review``: drafting, editing, publishing (the two-person rule), updating and
  cancelling an alert; each publish or cancel is a CAP message and a fan-out.
- ``fanout``: the worker's batches of outbox messages for one CAP message.
- ``spikes``: the worker's look for areas with more overdoses than usual.
"""
