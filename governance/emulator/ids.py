"""Object ids in the real API's formats: `resp_`, `msg_`, `fc_`, `rs_` + 48 hex, `call_` + 24 hex.

Random by default, so ids never collide between emulators (runs from several processes end up in
one database). With a `seed` they are a pure function of (seed, prefix, counter): a test that builds
the same emulator and sends the same requests sees the same ids.
"""

from __future__ import annotations

import hashlib
import itertools
import secrets
import threading

_LENGTHS = {"call": 24, "req": 32}
_DEFAULT_LENGTH = 48


class IdFactory:
    def __init__(self, seed: int | str | None = None) -> None:
        self._seed = seed
        self._counter = itertools.count(1)
        self._lock = threading.Lock()

    def new(self, prefix: str) -> str:
        length = _LENGTHS.get(prefix, _DEFAULT_LENGTH)
        if self._seed is None:
            return f"{prefix}_{secrets.token_hex(length // 2)}"
        with self._lock:
            n = next(self._counter)
        digest = hashlib.sha256(f"{self._seed}:{prefix}:{n}".encode()).hexdigest()
        return f"{prefix}_{digest[:length]}"
