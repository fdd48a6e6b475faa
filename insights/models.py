"""The rollups the insights page reads instead of the audit history itself.

Aggregating a month of a million-record audit history per page view costs seconds; these tables hold
the same figures already counted, kept current from the sealed audit records (insights/rollup.py):

- `DayCount`: per UTC day, tool, actor, domain, measure and outcome, how many records, and for
  decisions how many in each hour of the day (`h00`..`h23`, for the busiest hours);
- `Resolution`: one row per approval request leaving pending (its audit record's id, who decided,
  how, how long after the request, the reviewer's comment when denied): medians and per-reviewer
  figures need the single times, not counts;
- `Watermark`: the last audit `seq` folded in. `seq` rather than `id`: seq is commit order without
  gaps, so a record whose transaction commits after a later id's is never skipped.
"""

from __future__ import annotations

from django.db import models

HOURS = tuple(f"h{hour:02d}" for hour in range(24))


class Measure(models.TextChoices):
    DECISION = "decision", "Decision"  # a call decided (kind decision or execution); outcome: its decision
    RESOLUTION = "resolution", "Resolution"  # an approval request resolved; outcome: approved, denied, expired
    ESCALATION = "escalation", "Escalation"  # an approval request escalated at its deadline; outcome empty


class Watermark(models.Model):
    """The one row (pk 1): the last audit seq the rollups include."""

    seq = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"insights up to audit #{self.seq}"


class DayCount(models.Model):
    day = models.DateField()
    tool = models.CharField(max_length=64, blank=True)
    actor = models.CharField(max_length=150, blank=True)
    domain = models.CharField(max_length=100, blank=True)
    measure = models.CharField(max_length=12, choices=Measure.choices)
    outcome = models.CharField(max_length=20, blank=True)
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["day", "tool", "actor", "domain", "measure", "outcome"],
                                               name="insights_daycount_key")]
        indexes = [models.Index(fields=["measure", "day"], name="insights_daycount_measure_day")]

    def __str__(self) -> str:
        return f"{self.day} {self.tool} {self.measure} {self.outcome}: {self.count}"


for _name in HOURS:  # 24 counters: summed by the database, not decoded from a blob
    DayCount.add_to_class(_name, models.PositiveIntegerField(default=0))


class Resolution(models.Model):
    audit_id = models.BigIntegerField(unique=True, help_text="The audit record of the resolution.")
    approval_id = models.BigIntegerField(null=True, blank=True)
    occurred_at = models.DateTimeField()
    day = models.DateField()
    tool = models.CharField(max_length=64, blank=True)
    actor = models.CharField(max_length=150, blank=True)
    domain = models.CharField(max_length=100, blank=True)
    reviewer = models.CharField(max_length=150, blank=True)
    outcome = models.CharField(max_length=20)
    seconds = models.FloatField(null=True, blank=True, help_text="From the request to its resolution; empty "
                                "when the request is gone.")
    reason = models.CharField(max_length=200, blank=True, help_text="A denial's comment (the reviewer's reason).")

    class Meta:
        indexes = [models.Index(fields=["day"], name="insights_resolution_day")]

    def __str__(self) -> str:
        return f"approval #{self.approval_id} {self.outcome}"
