"""Why an approval request could not be resolved: the errors `approvals.services` and `approvals.quorum`
raise, each message meant for the reviewer (pages show it, the API returns it)."""

from __future__ import annotations


class ApprovalError(Exception):
    """A resolution that cannot be made; the message is meant for the reviewer."""


class NotAllowed(ApprovalError):
    pass


class AlreadyResolved(ApprovalError):
    pass


class AlreadyApproved(ApprovalError):
    """The reviewer has already approved this request, which waits for other reviewers (its quorum)."""
