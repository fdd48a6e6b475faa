"""What `runs` does when a lower app announces something it cannot call `runs` for (the layer order).

An approval request was resolved by a reviewer or by expiry (`approvals.signals`).
The run's resume is queued once that transaction commits, and the run's page and the dashboard are
nudged; a remote session's run has no worker to resume, so its timeline shows the resolution
instead (runs/remote.py). Whoever long-polls the request through the API is woken after the commit.
A reviewer's edit asks for the real arguments of the call it edits (`call_arguments_wanted`): they are
in the run's saved state only. Connected by `RunsConfig.ready()`.
"""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from approvals.signals import approval_resolved, call_arguments_wanted

from . import remote
from .live import publish_approval_resolved, publish_run_changed
from .models import RunOrigin
from .queue import enqueue_resume
from .state_store import waiting_call_arguments


@receiver(approval_resolved, dispatch_uid="runs.resume_after_resolution")
def resume_after_resolution(*, approval: Any, **_kwargs: Any) -> None:
    publish_approval_resolved(approval.pk)
    if approval.run.origin == RunOrigin.REMOTE:
        remote.record_resolution(approval)
        return
    enqueue_resume(approval.run_id)
    publish_run_changed(approval.run_id)


@receiver(call_arguments_wanted, dispatch_uid="runs.call_arguments")
def call_arguments(*, approval: Any, **_kwargs: Any) -> dict[str, Any] | None:
    return waiting_call_arguments(approval.run_id, approval.call_id)
