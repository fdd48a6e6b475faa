"""The audit page: each filter, text search on the database in use, keyset pages, exports, access."""

from __future__ import annotations

import csv
import io
import json
import uuid
from datetime import UTC, datetime

import pytest
from django.db import connection

from audit import chain
from audit.recorders import build_record
from audit.search import page
from tests.factories import make_user

pytestmark = pytest.mark.django_db

RUN_A = uuid.UUID("aaaaaaaa-0000-4000-8000-000000000001")
RUN_B = uuid.UUID("bbbbbbbb-0000-4000-8000-000000000002")


def _at(day: int, hour: int = 12) -> datetime:
    return datetime(2026, 11, day, hour, tzinfo=UTC)


@pytest.fixture
def records(db):
    rows = [
        dict(kind="execution", decision="allowed", status="executed", tool="lookup_order", actor="support-bot",
             domain="orders", run_id=RUN_A, occurred_at=_at(1), reason="permitted by lookup-policy",
             details={"arguments": {"order_id": "ord_100"}, "output": {"shipped": "yes"}}),
        dict(kind="decision", decision="blocked", status="blocked", tool="delete_customer", actor="support-bot",
             domain="customers", run_id=RUN_A, occurred_at=_at(2), reason="forbidden by gdpr-policy",
             details={"arguments": {"customer_id": "cus_9"}}),
        dict(kind="decision", decision="requires_approval", status="approval_required", tool="refund_payment",
             actor="billing-bot", domain="payments", run_id=RUN_B, approval_id=7, occurred_at=_at(3),
             reason="amount above 100", details={"arguments": {"order_id": "ord_7", "amount": 250}}),
        dict(kind="approval", decision="denied", status="denied", tool="refund_payment", actor="billing-bot",
             domain="payments", reviewer="rita", run_id=RUN_B, approval_id=7, occurred_at=_at(4),
             reason="amount above 100", details={"comment": "duplicate chargeback suspected"}),
        dict(kind="approval", decision="approved", status="approved", tool="refund_payment", actor="billing-bot",
             domain="payments", reviewer="rob", run_id=RUN_B, approval_id=8, occurred_at=_at(5), call_id="=1+2",
             reason="amount above 100", details={"comment": "=HYPERLINK(\"http://evil\")"}),
        dict(kind="decision", decision="expired", status="expired", tool="refund_payment", actor="billing-bot",
             domain="payments", run_id=RUN_B, approval_id=9, occurred_at=_at(6), reason="nobody approved",
             details={}),
        dict(kind="execution", decision="error", status="tool_error", tool="lookup_order", actor="support-bot",
             domain="orders", run_id=RUN_A, occurred_at=_at(7), reason="upstream timeout",
             details={"error": "warehouse API timed out"}),
    ]
    appended = chain.append([build_record(**row) for row in rows])
    chain.seal()
    return appended


def _tools(criteria) -> list[tuple[str, str]]:
    return [(r.tool, r.decision) for r in page(criteria).records]


@pytest.mark.parametrize(("criteria", "expected"), [
    ({"tool": "lookup_order"}, [("lookup_order", "error"), ("lookup_order", "allowed")]),
    ({"actor": "support-bot", "domain": "customers"}, [("delete_customer", "blocked")]),
    ({"decision": "denied"}, [("refund_payment", "denied")]),
    ({"decision": "requires_approval"}, [("refund_payment", "requires_approval")]),
    ({"decision": "expired"}, [("refund_payment", "expired")]),
    ({"decision": "error"}, [("lookup_order", "error")]),
    ({"reviewer": "rob"}, [("refund_payment", "approved")]),
    ({"kind": "approval"}, [("refund_payment", "approved"), ("refund_payment", "denied")]),
    ({"run_id": RUN_A, "decision": "blocked"}, [("delete_customer", "blocked")]),
    ({"since": _at(3), "until": _at(5)}, [("refund_payment", "denied"), ("refund_payment", "requires_approval")]),
])
def test_each_filter(records, criteria, expected):
    assert _tools(criteria) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("ord_7", [("refund_payment", "requires_approval")]),  # an argument value
    ("shipped", [("lookup_order", "allowed")]),  # an output key
    ("chargeback suspected", [("refund_payment", "denied")]),  # a reviewer's comment, two words
    ("gdpr", [("delete_customer", "blocked")]),  # a reason
    ("warehouse timed", [("lookup_order", "error")]),  # an error, words out of order
    ('"quoted" AND NOT OR *', []),  # search syntax is taken as plain words, never run
    ("nothing-like-this", []),
])
def test_text_search_on_this_database(records, text, expected):
    assert connection.vendor in ("sqlite", "postgresql")
    assert _tools({"q": text}) == expected


def test_text_search_combines_with_filters(records):
    assert _tools({"q": "amount", "decision": "requires_approval"}) == [("refund_payment", "requires_approval")]


def test_pages_are_keyset_and_stable_while_records_are_appended(records):
    first = page({}, size=3)
    assert [r.seq for r in first.records] == [7, 6, 5] and first.next_before == first.records[-1].id
    chain.append([build_record(kind="run_status", status="running", details={})])
    second = page({}, before=first.next_before, size=3)
    assert [r.seq for r in second.records] == [4, 3, 2]
    last = page({}, before=second.records[-1].id, size=3)
    assert [r.seq for r in last.records] == [1] and last.next_before is None


@pytest.fixture
def reviewer_client(client, db):
    client.force_login(make_user("rita", reviewer=True))
    return client


def test_page_shows_filtered_rows_with_links_and_a_shareable_url(records, reviewer_client):
    response = reviewer_client.get("/audit/", {"tool": "refund_payment", "decision": "denied"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "duplicate chargeback suspected" in html and "ord_100" not in html
    assert f"/runs/{RUN_B}/" in html and "/approvals/7/" in html
    assert "export.csv?tool=refund_payment&amp;decision=denied" in html


@pytest.mark.parametrize("rows", [2, 30])
def test_page_query_count_does_not_grow_with_rows(reviewer_page, rows):
    chain.append([build_record(kind="approval", decision="approved", status="approved", tool="refund_payment",
                               actor="billing-bot", domain="payments", reviewer="rita", run_id=uuid.uuid4(),
                               approval_id=i + 1, occurred_at=_at(1 + i // 24, i % 24), reason="amount above 100",
                               details={"comment": f"checked {i}"}) for i in range(rows)])
    # session, user, user and group permissions, the page's ids, its rows, the observe-only domains (one
    # query marking every row, governance/observe.py; 7 before it), nav count. Filtered to approvals:
    # creating the reviewer also wrote configuration records, which are not the rows counted.
    body = reviewer_page("/audit/?kind=approval", queries=8)
    assert body.count('sealed within about a second">unsealed</span>') == rows  # not sealed yet: shown, marked
    assert body.count(">approval ") == rows


def test_htmx_request_gets_only_the_results(records, reviewer_client):
    response = reviewer_client.get("/audit/", {"q": "gdpr"}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="audit-results">')
    assert "forbidden by gdpr-policy" in html and "<form" not in html


def test_bad_filters_get_a_clear_error_and_no_results(records, reviewer_client):
    response = reviewer_client.get("/audit/", {"run": "not-a-uuid", "since": "yesterday-ish"})
    html = response.content.decode()
    assert response.status_code == 400
    assert "Enter a valid UUID." in html and "Enter a valid date/time." in html
    assert "Nothing was searched" in html and "ord_100" not in html
    inverted = reviewer_client.get("/audit/", {"since": "2026-11-05T00:00", "until": "2026-11-01T00:00"})
    assert "must be after" in inverted.content.decode()


def test_older_link_continues_below_the_page(records, reviewer_client, monkeypatch):
    monkeypatch.setattr("audit.search.PAGE_SIZE", 2)
    html = reviewer_client.get("/audit/", {"tool": "refund_payment"}).content.decode()
    assert f"tool=refund_payment&amp;before={records[4].id}" in html  # below the page's last record, #5
    older = reviewer_client.get("/audit/", {"tool": "refund_payment", "before": records[4].id}).content.decode()
    assert "amount above 100" in older and "nobody approved" not in older


def test_csv_export_streams_the_filtered_set_safely(records, reviewer_client):
    response = reviewer_client.get("/audit/export.csv", {"tool": "refund_payment"})
    assert response.streaming and response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [r["decision"] for r in rows] == ["expired", "approved", "denied", "requires_approval"]
    approved = rows[1]
    assert json.loads(approved["details"])["comment"] == '=HYPERLINK("http://evil")'  # inside JSON: inert
    assert approved["call_id"] == "'=1+2"  # a formula cell is defused
    assert all(not value.startswith("=") for row in rows for value in row.values())


def test_unsealed_records_are_listed_and_exported_with_an_empty_place_in_the_chain(records, reviewer_client):
    chain.append([build_record(kind="run_status", status="running", reason="fresh start", details={})])
    rows = list(csv.DictReader(io.StringIO(b"".join(
        reviewer_client.get("/audit/export.csv", {"q": "fresh"}).streaming_content).decode())))
    assert [(r["seq"], r["prev_hash"], r["hash"], r["reason"]) for r in rows] == [("", "", "", "fresh start")]
    line = b"".join(reviewer_client.get("/audit/export.jsonl", {"q": "fresh"}).streaming_content).decode()
    assert (json.loads(line)["seq"], json.loads(line)["hash"]) == (None, "")
    body = reviewer_client.get("/audit/", {"q": "fresh"}).content.decode()
    assert body.count(">unsealed</span>") == 1 and body.count('<td class="muted">#') == 0
    sealed = reviewer_client.get("/audit/", {"tool": "lookup_order"}).content.decode()
    assert sealed.count(">unsealed</span>") == 0 and sealed.count('<td class="muted">#') == 2


def test_jsonl_export_is_one_object_per_line(records, reviewer_client):
    response = reviewer_client.get("/audit/export.jsonl", {"q": "chargeback"})
    lines = b"".join(response.streaming_content).decode().splitlines()
    assert len(lines) == 1
    record = json.loads(lines[0])
    assert (record["seq"], record["reviewer"], record["approval_id"]) == (4, "rita", 7)
    assert record["details"] == {"comment": "duplicate chargeback suspected"}


def test_export_with_bad_filters_exports_nothing(records, reviewer_client):
    response = reviewer_client.get("/audit/export.csv", {"decision": "maybe"})
    assert response.status_code == 400 and "Nothing exported" in response.content.decode()


def test_only_audit_viewers_may_search_or_export(records, client):
    client.force_login(make_user("olivia"))
    assert client.get("/audit/").status_code == 403
    assert client.get("/audit/export.csv").status_code == 403


def test_run_page_shows_its_own_trail(records, client):
    from runs.models import Run

    user = make_user("olivia")
    Run.objects.create(id=RUN_A, started_by=user, prompt="p", model="gpt-4.1")
    client.force_login(user)
    html = client.get(f"/runs/{RUN_A}/").content.decode()
    trail = html[html.index('id="audit-trail"'):]
    assert "forbidden by gdpr-policy" in trail and "upstream timeout" in trail
    assert "amount above 100" not in trail  # run B's records


def test_records_sharing_the_boundary_time_are_all_in_range(db):
    """Records stamped with the same instant at either end of the range are all listed: the id bounds the
    range implies are the lowest id at `since` and the highest before `until`."""
    rows = [dict(kind="decision", decision="blocked", status="blocked", tool=f"tool_{n}", occurred_at=at,
                 details={}) for n, at in enumerate([_at(2), _at(3), _at(3), _at(3), _at(4), _at(4), _at(5)])]
    chain.append([build_record(**row) for row in rows])
    chain.seal()
    listed = {tool for tool, _ in _tools({"since": _at(3), "until": _at(5)})}
    assert listed == {"tool_1", "tool_2", "tool_3", "tool_4", "tool_5"}
