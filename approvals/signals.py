"""What `approvals` announces to the apps above it, which it must not import (the layer order, README "Layout").

`approval_resolved` is sent with `approval=` inside the transaction that moved a request out of
`pending` because a reviewer decided or it expired; `runs.receivers` answers by queueing the run's
resume after that commit. It is not sent for the denials of a run that ended (cancelled or failed):
nothing resumes such a run, and whoever ended it wrote the run's event in the same transaction.
"""

from __future__ import annotations

from django.dispatch import Signal

approval_resolved = Signal()
