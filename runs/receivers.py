"""What `runs` does when a lower app announces something it cannot call `runs` for (the layer order).

One signal today: an approval request was resolved by a reviewer or by expiry (`approvals.signals`).
The run's resume is queued once that transaction commits, and the run's page and the dashboard are
nudged. Connected by `RunsConfig.ready()`.
"""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from approvals.signals import approval_resolved

from .live import publish_run_changed
from .queue import enqueue_resume


@receiver(approval_resolved, dispatch_uid="runs.resume_after_resolution")
def resume_after_resolution(*, approval: Any, **_kwargs: Any) -> None:
    enqueue_resume(approval.run_id)
    publish_run_changed(approval.run_id)
