"""What `runs` does when a lower app announces something it cannot call `runs` for (the layer order).

One signal today: an approval request was resolved by a reviewer or by expiry (`approvals.signals`).
The run's resume is queued once that transaction commits, and the run's page and the dashboard are
nudged; a remote session's run has no worker to resume, so its timeline shows the resolution
instead (runs/remote.py). Whoever long-polls the request through the API is woken after the commit.
Connected by `RunsConfig.ready()`.
"""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from approvals.signals import approval_resolved

from . import remote
from .live import publish_approval_resolved, publish_run_changed
from .models import RunOrigin
from .queue import enqueue_resume


@receiver(approval_resolved, dispatch_uid="runs.resume_after_resolution")
def resume_after_resolution(*, approval: Any, **_kwargs: Any) -> None:
    publish_approval_resolved(approval.pk)
    if approval.run.origin == RunOrigin.REMOTE:
        remote.record_resolution(approval)
        return
    enqueue_resume(approval.run_id)
    publish_run_changed(approval.run_id)
