"""The queue's live updates keep its filters: the dashboard socket of a filtered queue sends only the
requests that match (and the count "all matching" offers), and refuses filters it cannot read."""

from __future__ import annotations

import re

import pytest
from asgiref.sync import sync_to_async

from runs.consumers import DashboardConsumer
from tests.factories import make_user, pending_approval
from tests.runs.test_consumers import communicator

pytestmark = pytest.mark.django_db(transaction=True)


@sync_to_async
def _pending_of(*usernames: str) -> dict[str, int]:
    return {name: pending_approval(make_user(name), n).pk for n, name in enumerate(usernames, start=1)}


async def test_filtered_queue_socket_sends_only_the_matching_rows():
    ids = await _pending_of("otto", "owen")
    reviewer = await sync_to_async(make_user)("rita", reviewer=True)
    comm = await communicator(DashboardConsumer, "/ws/dashboard/?show=approvals&requester=otto", reviewer)
    comm.scope["query_string"] = b"show=approvals&requester=otto"
    assert (await comm.connect())[0]
    frame = await comm.receive_from()
    assert re.findall(r'data-approval="(\d+)"', frame) == [str(ids["otto"])]
    assert "Select all 1 request matching the filters" in frame
    assert f'<input type="hidden" name="upto" value="{ids["otto"]}" form="batch-form">' in frame
    assert re.search(r'<span id="pending-count"[^>]*>(\d+)</span>', frame).group(1) == "2"  # the nav counts all
    await comm.disconnect()


async def test_queue_socket_with_a_bad_filter_says_so_instead_of_sending_every_row():
    await _pending_of("otto")
    reviewer = await sync_to_async(make_user)("rita", reviewer=True)
    comm = await communicator(DashboardConsumer, "/ws/dashboard/?show=approvals&run=zz!", reviewer)
    comm.scope["query_string"] = b"show=approvals&run=zz!"
    assert (await comm.connect())[0]
    error = await comm.receive_from()
    assert "The queue is not updated: run: A run id is hexadecimal digits" in error
    assert "data-approval" not in await comm.receive_from()
    await comm.disconnect()
