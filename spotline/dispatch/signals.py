"""Signals dispatch sends, for apps above it that keep rows about an incident.

``incident_purged``: sent inside the purge's transaction, once the incident's data key
is destroyed. Receivers delete what they hold about it (SMS intake deletes the
conversations that led to it), so the purge needs to know no app above it.
Arguments: ``incident_id``, ``now``.
"""

from __future__ import annotations

from django.dispatch import Signal

incident_purged = Signal()
