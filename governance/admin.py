"""Admin for tool registrations, policies and domain defaults (validation lives on the models; every add,
change and delete asks for a comment and becomes a policy set version, governance/versions.py, and is
refused when it would break a policy example, governance/policy_examples.py), the policy examples, the
versions themselves (read-only, with their diffs, and rollback, refused too when it breaks an example),
the differences of shadow policies (read-only, counted on each policy's page), the replays of drafts (read-only,
each linked to its own page; started by “Replay this draft” on the forms of the policy set), the kill switch's pauses
(made and resumed through governance/pauses.py), and the read-only bases the history admins use (runs,
approvals, audit)."""

from __future__ import annotations

import json
from urllib.parse import urlencode

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect, QueryDict
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from . import pauses, permissions, policy_examples, replay_jobs, shadow, versions
from .models import (
    DomainDefault,
    Pause,
    PauseScope,
    Policy,
    PolicyExample,
    PolicySetChange,
    PolicySetVersion,
    ReplayJob,
    ShadowDifference,
    ToolRegistration,
)

REPLAY_BUTTON = "_replay"
VERSION_COMMENT_HELP = ("Why you make this change. Every change to policies, tools' decision settings and "
                        "domain defaults is kept as a numbered policy set version with this comment.")


class ReadOnlyAdmin(admin.ModelAdmin):
    """History is read, never added to, changed or deleted through the admin."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class VisibleRunsAdmin(ReadOnlyAdmin):
    """History of runs, showing an admin user only the runs the dashboard shows them (permissions)."""

    run_path = "run__"  # from the listed model to its run; "" for runs themselves

    def get_queryset(self, request):
        return super().get_queryset(request).filter(permissions.visible_runs(request.user, through=self.run_path))


class VersionCommentForm(forms.ModelForm):
    """The model's form plus the comment every change of the policy set needs (not a model field)."""

    version_comment = forms.CharField(label="Why (version comment)", widget=forms.Textarea(attrs={"rows": 2}),
                                      help_text=VERSION_COMMENT_HELP)
    replay_days = forms.IntegerField(
        label="Days of recorded decisions", required=False, initial=replay_jobs.DEFAULT_DAYS, min_value=1,
        max_value=replay_jobs.MAX_DAYS, widget=forms.NumberInput(attrs={"size": 4}),
        help_text="“Replay this draft” decides the calls recorded in these last days again with the form as it is "
        "now, without saving it, and shows which outcomes would change.")
    # True when the “Replay this draft” button sent the form (VersionedAdmin.get_form): the form is validated as
    # a save would validate it, except that it needs no comment and may break policy examples (the replay
    # lists the ones it breaks).
    replaying = False

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.replaying:
            self.fields["version_comment"].required = False
            self.fields["replay_days"].required = True

    def clean(self) -> dict:
        if not self.replaying:  # a save ignores the replay's days, whatever was typed there
            self._errors.pop("replay_days", None)
        return super().clean()

    # After the model's own validation, when the instance is built as it would be saved (the hook
    # Django's UserCreationForm uses to validate a password against the user): the policy examples
    # must still get their outcomes from the set as it would be after this save.
    def _post_clean(self) -> None:
        super()._post_clean()
        if not self.errors and not self.replaying:
            for message in example_errors(versions.draft(saving=self.instance), "Saving this"):
                self.add_error(None, message)


def example_errors(policy_set: dict, doing: str) -> list[str]:
    """What the admin says when `policy_set` (a draft) breaks policy examples: one message per example."""
    try:
        broken = policy_examples.failures(policy_set=policy_set)
    except ValueError as exc:  # PolicyError: another enabled policy would not load
        return [f"{doing} leaves a policy set that does not load, so the policy examples cannot run: {exc}"]
    return [f"{doing} breaks the {failure}. Change the example first if the new outcome is the one wanted."
            for failure in broken]


class VersionedAdmin(admin.ModelAdmin):
    """Adds, changes and deletes made here each become one policy set version, with the comment the form
    (or the delete confirmation) asks for; the bulk delete action is off, since it has nowhere to ask."""

    form = VersionCommentForm
    delete_confirmation_template = "admin/governance/versioned_delete_confirmation.html"
    change_form_template = "admin/governance/replayable_change_form.html"
    version_kind: str = ""
    version_name_field = "name"

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        if not (request.method == "POST" and REPLAY_BUTTON in request.POST):
            return form
        if not permissions.may_replay(request.user):
            raise PermissionDenied
        start_replay = self.start_replay

        class ReplayingForm(form):
            replaying = True

            # Django's change view saves a form that is valid. A replay must save nothing: a valid form starts
            # the replay and then answers False, so the view shows the form again as typed (and, having no
            # errors, says nothing is wrong); an invalid one shows its errors and starts nothing.
            def is_valid(self) -> bool:
                if super().is_valid():
                    start_replay(request, self)
                return False

        return ReplayingForm

    def start_replay(self, request, form) -> None:
        """Start a replay of the policy set as this valid form would leave it, saving nothing."""
        obj = form.instance
        name = getattr(obj, self.version_name_field)
        state = "unsaved change" if obj.pk is not None else "new, unsaved"
        request.replay_job = replay_jobs.start(
            draft=versions.draft(saving=obj), days=form.cleaned_data["replay_days"], by=request.user,
            label=f"{PolicySetChange.Kind(self.version_kind).label.lower()} {name} ({state})")

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        may_edit = add or self.has_change_permission(request, obj)
        context.update(replay_job=getattr(request, "replay_job", None),
                       may_replay=may_edit and permissions.may_replay(request.user))
        return super().render_change_form(request, context, add, change, form_url, obj)

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def save_model(self, request, obj, form, change) -> None:
        with versions.changing(by=request.user, comment=form.cleaned_data["version_comment"]):
            super().save_model(request, obj, form, change)

    def delete_view(self, request, object_id, extra_context=None):
        if request.method == "POST" and request.POST.get("post"):
            comment = request.POST.get("version_comment", "").strip()
            if not comment:
                # No deletion without a comment: show the confirmation again, saying what is missing.
                request.POST = QueryDict()
                extra_context = {**(extra_context or {}),
                                 "version_comment_error": "Say why you delete it: a comment is required."}
            obj = self.get_object(request, unquote(object_id))
            broken = example_errors(versions.draft(deleting=obj), "Deleting it") if comment and obj else []
            if broken:
                # Nothing deleted: the confirmation again, naming the examples it would break.
                request.POST = QueryDict()
                extra_context = {**(extra_context or {}), "version_comment_error": " ".join(broken)}
            request.version_comment = comment
        return super().delete_view(request, object_id, extra_context)

    def delete_model(self, request, obj) -> None:
        with versions.changing(by=request.user, comment=getattr(request, "version_comment", "")):
            super().delete_model(request, obj)

    @admin.display(description="Versions")
    def version_history(self, obj) -> str:
        if obj is None or obj.pk is None:
            return "Saving this makes the first version that names it."
        changes = (PolicySetChange.objects.filter(kind=self.version_kind, name=getattr(obj, self.version_name_field))
                   .select_related("version")[:50])
        return changes_html(changes) or "No version names it yet."


def changes_html(changes) -> str:
    """Each change as its version (linked), author, time, comment and diff."""
    return format_html_join(
        "", '<div class="policy-set-change"><p><a href="{}">{}</a> by {} at {}: {}</p><pre>{}</pre></div>',
        ((reverse("admin:governance_policysetversion_change", args=[c.version.pk]), c.version,
          c.version.author_name, f"{c.version.created_at:%Y-%m-%d %H:%M:%S}", c.version.comment, c.diff)
         for c in changes),
    )


@admin.register(ToolRegistration)
class ToolRegistrationAdmin(VersionedAdmin):
    list_display = ("name", "callable_path", "domain", "approve_above", "block_above", "approvals_needed", "enabled")
    list_filter = ("enabled", "domain", "decision_mode")
    search_fields = ("name", "callable_path", "description")
    readonly_fields = ("generated_schema", "version_history")
    actions = ["pause_tools"]
    version_kind = PolicySetChange.Kind.TOOL
    fields = ("name", "callable_path", "description", "enabled", "domain", "actor", "decision_mode",
              "value_argument", "target_argument", "approve_above", "block_above", "approvals_needed",
              "reviewer_groups", "approval_window_seconds", "escalation_group", "redact_fields", "schema_override",
              "generated_schema", "version_comment", "version_history")
    filter_horizontal = ("reviewer_groups",)

    @admin.display(description="Generated schema")
    def generated_schema(self, obj: ToolRegistration) -> str:
        if not obj.schema:
            return "Generated from the function's signature when the tool is saved."
        return format_html("<pre>{}</pre>", json.dumps(obj.schema, indent=2))


    @admin.action(description="Pause the selected tools (their new calls are blocked)", permissions=["pause"])
    def pause_tools(self, request, queryset) -> None:
        for tool in queryset:
            pauses.pause(scope=PauseScope.TOOL, value=tool.name, by=request.user)
        self.message_user(request, f"Paused: {', '.join(t.name for t in queryset)}.", messages.SUCCESS)

    def has_pause_permission(self, request) -> bool:
        return permissions.may_pause(request.user)


@admin.register(Pause)
class PauseAdmin(admin.ModelAdmin):
    """The kill switch: add a pause (one form), resume with the action; a pause is never edited or deleted,
    so its history stays (and is in the audit history)."""

    list_display = ("__str__", "paused_by_name", "paused_at", "resumed_by_name", "resumed_at")
    list_filter = (("resumed_at", admin.EmptyFieldListFilter), "scope")
    fields = ("scope", "value")
    actions = ["resume_pauses"]

    def has_view_permission(self, request, obj=None) -> bool:
        return permissions.may_pause(request.user) or super().has_view_permission(request, obj)

    def has_add_permission(self, request) -> bool:
        return permissions.may_pause(request.user)

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def has_pause_permission(self, request) -> bool:
        return permissions.may_pause(request.user)

    def save_model(self, request, obj, form, change) -> None:
        paused, _ = pauses.pause(scope=obj.scope, value=obj.value, by=request.user)
        obj.pk = paused.pk  # the admin's "added" message and log entry name the pause in force

    @admin.action(description="Resume the selected pauses", permissions=["pause"])
    def resume_pauses(self, request, queryset) -> None:
        resumed = [p for p in queryset if pauses.resume(pause_id=p.pk, by=request.user) is not None]
        self.message_user(request, f"Resumed: {', '.join(p.what for p in resumed) or 'nothing (already ended)'}.",
                          messages.SUCCESS)


@admin.register(Policy)
class PolicyAdmin(VersionedAdmin):
    list_display = ("name", "enabled", "mode", "updated_at")
    fields = ("name", "description", "cedar", "enabled", "mode", "shadow_differences", "version_comment",
              "version_history")
    readonly_fields = ("shadow_differences", "version_history")
    version_kind = PolicySetChange.Kind.POLICY
    list_filter = ("enabled", "mode")
    search_fields = ("name", "cedar", "description")

    @admin.display(description="Decisions it would have changed")
    def shadow_differences(self, obj: Policy) -> str:
        """Its shadow differences counted by outcome pair, each count linked to the list of those calls."""
        counts = shadow.outcome_counts(obj) if obj is not None and obj.pk is not None else []
        if not counts:
            return ("None recorded. In shadow mode, every decision this policy would have changed is counted "
                    "here." if obj is None or obj.mode != Policy.Mode.SHADOW else "None recorded yet.")
        listed = reverse("admin:governance_shadowdifference_changelist")
        return format_html_join(
            "", '<p class="shadow-count"><a href="{}">{} → {}: {}</a></p>',
            ((f"{listed}?{urlencode({'policy__id__exact': obj.pk, 'real_outcome': real, 'shadow_outcome': shadowed})}",
              _OUTCOME_WORDS[real], _OUTCOME_WORDS[shadowed], n)
             for real, shadowed, n in counts),
        )

    def save_model(self, request, obj, form, change) -> None:
        super().save_model(request, obj, form, change)
        self.show_findings(request, obj)

    def show_findings(self, request, obj: Policy) -> None:
        """The saved policy's findings, from a replay of the set as saved, as warnings linked to that replay
        (inline for a small window, else a replay job the message links to: governance/replay_jobs.py). A user
        who may save policies but not see replays (they list every actor's calls) gets the warnings unlinked."""
        job = replay_jobs.replay_saved(label=f"policy {obj.name} as saved", by=request.user)
        url = reverse("governance:replay", args=[job.pk])
        linked = permissions.may_replay(request.user)
        if not job.finished:
            self.message_user(request, format_html(
                'Findings for policy {} come from a replay of the last {} days, running now: <a href="{}">see '
                "the replay</a>.", obj.name, job.days, url) if linked else
                f"Findings for policy {obj.name} come from a replay of the last {job.days} days, running now.",
                messages.INFO)
            return
        if job.status == job.Status.FAILED:
            self.message_user(request, format_html(
                'The replay for this policy\'s findings failed: {} (<a href="{}">the replay</a>).', job.error, url)
                if linked else f"The replay for this policy's findings failed: {job.error}.", messages.WARNING)
        for finding in job.findings:
            if finding["policy"] == obj.name or finding["policy"].startswith(f"{obj.name}/"):
                self.message_user(request, format_html('{} <a href="{}">See the replay</a> (the last {} days).',
                                                       finding["message"], url, job.days) if linked else
                                  f"{finding['message']} (A replay of the last {job.days} days.)", messages.WARNING)

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        if db_field.name == "cedar":
            field.widget.attrs.update({"rows": 16, "style": "font-family: monospace; width: 60em"})
        return field


@admin.register(DomainDefault)
class DomainDefaultAdmin(VersionedAdmin):
    list_display = ("domain", "outcome", "observe_only")
    list_filter = ("observe_only",)
    fields = ("domain", "outcome", "observe_only", "reviewer_groups", "version_comment", "version_history")
    filter_horizontal = ("reviewer_groups",)
    readonly_fields = ("version_history",)
    version_kind = PolicySetChange.Kind.DOMAIN_DEFAULT
    version_name_field = "domain"


class PolicyExampleForm(forms.ModelForm):
    """An example is refused unless the active policy set already decides it as it says."""

    class Meta:
        model = PolicyExample
        fields = ("name", "description", "tool", "arguments", "actor", "domain", "expected")

    def _post_clean(self) -> None:  # after the model's validation, as VersionCommentForm does
        super()._post_clean()
        if self.errors:
            return
        try:
            broken = policy_examples.failures(examples=[self.instance])
        except ValueError as exc:  # PolicyError
            self.add_error(None, f"The active policy set does not load, so the example cannot run: {exc}")
            return
        for failure in broken:
            self.add_error("expected", f"The active policy set gives this call {failure.got.replace('_', ' ')}, "
                                       f"not {failure.expected.replace('_', ' ')}: {failure.reason}.")


@admin.register(PolicyExample)
class PolicyExampleAdmin(admin.ModelAdmin):
    """Example calls the policy set must decide in a given way: checked when saved, and on every save of a
    policy, tool or domain default (governance/policy_examples.py; `manage.py check_policies`)."""

    form = PolicyExampleForm
    list_display = ("name", "tool", "actor", "domain", "expected", "updated_at")
    list_filter = ("expected", "tool")
    search_fields = ("name", "tool", "description")


class RollbackForm(forms.Form):
    comment = forms.CharField(widget=forms.Textarea(attrs={"rows": 2, "cols": 80}),
                              help_text="Recorded as “rollback to vN: <your comment>”.")


@admin.register(PolicySetVersion)
class PolicySetVersionAdmin(ReadOnlyAdmin):
    """The policy set's history: every version with its diff; a version's page offers rollback to it."""

    list_display = ("__str__", "created_at", "author_name", "comment", "changed", "rollback_of")
    search_fields = ("comment", "author_name", "diff")
    fields = ("number", "created_at", "author_name", "comment", "rollback_of", "shown_diff", "rollback")
    readonly_fields = fields

    @admin.display(description="Changed")
    def changed(self, obj: PolicySetVersion) -> str:
        return ", ".join(f"{c.get_kind_display().lower()} {c.name} ({c.action})" for c in obj.changes.all())

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("changes")

    @admin.display(description="Diff from the previous version")
    def shown_diff(self, obj: PolicySetVersion) -> str:
        return format_html('<pre id="version-diff">{}</pre>', obj.diff or "(no change)")

    @admin.display(description="Rollback")
    def rollback(self, obj: PolicySetVersion) -> str:
        url = reverse("admin:governance_policysetversion_rollback", args=[obj.pk])
        return format_html('<a class="button" href="{}">Roll back to {}</a> (makes a new version)', url, obj)

    def get_urls(self):
        return [path("<int:pk>/rollback/", self.admin_site.admin_view(self.rollback_view),
                     name="governance_policysetversion_rollback"), *super().get_urls()]

    def rollback_view(self, request, pk: int):
        if not versions.may_roll_back(request.user):
            raise PermissionDenied
        version = get_object_or_404(PolicySetVersion, pk=pk)
        form = RollbackForm(request.POST or None)
        broken = example_errors(versions.restored(version), "Rolling back") if request.method == "POST" else []
        for message in broken:
            form.add_error(None, message)
        if request.method == "POST" and form.is_valid():
            try:
                made = versions.rollback(to=version.number, by=request.user, comment=form.cleaned_data["comment"])
            except versions.VersionError as exc:
                form.add_error(None, str(exc))
            else:
                self.message_user(request, f"Rolled back to {version}: the policy set is now {made}.",
                                  messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:governance_policysetversion_change", args=[made.pk]))
        context = {**self.admin_site.each_context(request), "opts": self.opts, "version": version, "form": form,
                   "preview": versions.preview(version), "title": f"Roll back to {version}"}
        return TemplateResponse(request, "admin/governance/policysetversion/rollback.html", context)


_OUTCOME_WORDS = {value: label.lower() for value, label in DomainDefault.Outcome.choices}


@admin.register(ShadowDifference)
class ShadowDifferenceAdmin(ReadOnlyAdmin):
    """The decisions shadow policies would have changed, each linked to its run (governance/shadow.py)."""

    list_display = ("created_at", "policy", "outcomes", "tool", "actor", "domain", "call")
    list_filter = ("policy", "real_outcome", "shadow_outcome", "tool", "domain")
    list_select_related = ("policy",)
    search_fields = ("tool", "actor", "call_id", "request_id")

    @admin.display(description="Outcome (real → shadow)")
    def outcomes(self, obj: ShadowDifference) -> str:
        return f"{_OUTCOME_WORDS[obj.real_outcome]} → {_OUTCOME_WORDS[obj.shadow_outcome]}"

    @admin.display(description="Call")
    def call(self, obj: ShadowDifference) -> str:
        label = f"call {obj.call_id}" if obj.call_id else f"request {obj.request_id}"
        if obj.run_id is None:
            return label
        return format_html('<a href="{}">{}</a>', reverse("runs:detail", args=[obj.run_id]), label)


@admin.register(ReplayJob)
class ReplayJobAdmin(ReadOnlyAdmin):
    """The replays of drafts of the policy set, each linked to its own page (governance/replay_jobs.py)."""

    list_display = ("created_at", "label", "days", "status", "created_by_name", "page")
    list_filter = ("status",)
    search_fields = ("label", "created_by_name")
    fields = ("page", "label", "days", "status", "done", "total", "created_by_name", "created_at", "started_at",
              "heartbeat_at", "finished_at", "error")
    readonly_fields = fields

    def has_module_permission(self, request) -> bool:
        return permissions.may_replay(request.user)

    def has_view_permission(self, request, obj=None) -> bool:
        return permissions.may_replay(request.user)

    @admin.display(description="Replay")
    def page(self, obj: ReplayJob) -> str:
        return format_html('<a href="{}">open</a>', reverse("governance:replay", args=[obj.pk]))
