"""Errors the write path raises; the API and pages turn them into clear answers."""

from __future__ import annotations


class ActionError(Exception):
    status = 409
    code = "conflict"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(ActionError):
    # A forbidden object is reported as missing: the answer must not reveal that an
    # incident or offer exists to someone who may not see it.
    status = 404
    code = "not_found"


class Conflict(ActionError):
    status = 409
    code = "conflict"


class IncidentTaken(Conflict):
    code = "incident_taken"


class Invalid(ActionError):
    status = 400
    code = "invalid"
