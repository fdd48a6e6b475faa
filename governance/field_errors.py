"""`FieldError`: bad input that belongs to one named field (a form field, or a dotted path in a request
body), so the door that received it can show the message there. The input errors of the tool
registry, the run commands and the agents' API are its subclasses."""

from __future__ import annotations


class FieldError(ValueError):
    """Bad input for `field`; the message is meant for whoever sent it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
