"""Nudges sent from synchronous code (the worker) reach a real Redis channel layer, in order, over one
connection per process instead of a new one per message."""

from __future__ import annotations

import asyncio
import threading

import redis
from channels_redis.core import RedisChannelLayer

from runs.layer_sender import group_send


def _connections_received(url: str) -> int:
    return redis.Redis.from_url(url).info("stats")["total_connections_received"]


def test_fifty_nudges_from_sync_code_arrive_in_order_over_one_connection(redis_url):
    receiver_layer, sender_layer = RedisChannelLayer(hosts=[redis_url]), RedisChannelLayer(hosts=[redis_url])
    subscribed, received = threading.Event(), []

    async def receive(count: int) -> None:
        channel = await receiver_layer.new_channel()
        await receiver_layer.group_add("run-abc", channel)
        subscribed.set()
        for _ in range(count):
            received.append(await asyncio.wait_for(receiver_layer.receive(channel), timeout=10))

    receiver = threading.Thread(target=asyncio.run, args=(receive(50),))
    receiver.start()
    assert subscribed.wait(10)
    before = _connections_received(redis_url)

    for seq in range(1, 51):
        group_send(sender_layer, "run-abc", {"type": "run.changed", "seq": seq})

    opened = _connections_received(redis_url) - before
    receiver.join(15)
    assert [m["seq"] for m in received] == list(range(1, 51))
    assert opened <= 2, f"{opened} Redis connections opened for 50 messages"
