"""What `approvals` announces to the apps above it, which it must not import (the layer order, README "Layout").

Each signal is sent with `approval=` (the ApprovalRequest row, its run readable as `approval.run`)
inside the transaction that made the change; a receiver that acts outside the database (a resume,
an email, a webhook) waits for that commit (`transaction.on_commit`).

- `approval_requested`: a new request was raised (a dashboard run's paused call or a remote agent's);
  sent once per request. `notifications` tells the reviewers who may decide it.
- `approval_resolved`: the request moved out of `pending` because a reviewer decided or it expired
  (`approval.status` says which). `runs.receivers` queues the run's resume after that commit;
  `notifications` announces the resolution or the expiry. It is not sent for the denials of a run
  that ended (cancelled or failed): nothing resumes such a run, and whoever ended it wrote the run's
  event in the same transaction.
- `call_arguments_wanted`: approvals asks for the real arguments of the call a pending request waits on
  (an edit needs them: the row keeps only the redacted ones it shows). `runs.receivers` answers from
  the run's saved state; the answer is None when no worker's run waits on that call (a remote agent's).
- `approval_reminder_due` and `approval_escalated`: for the Deadlines feature (a reminder at
  half-time, an escalation at expiry), which does not exist yet. Nothing in `approvals` sends them
  today; that feature only has to send them, and `notifications` already emails the request's
  reviewers and calls the webhooks subscribed to `approval.reminder` / `approval.escalated`.
"""

from __future__ import annotations

from django.dispatch import Signal

approval_requested = Signal()
approval_resolved = Signal()
call_arguments_wanted = Signal()
approval_reminder_due = Signal()
approval_escalated = Signal()
