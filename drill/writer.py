"""A client that writes a new unique key through the VIP at a steady pace and records each
attempt, so a fault's write gap and lost acknowledged writes can be measured."""

from __future__ import annotations

import itertools
import threading
import time
from dataclasses import dataclass, field

import redis


@dataclass
class WriteLog:
    acknowledged: list[tuple[float, str]] = field(default_factory=list)
    failed: list[float] = field(default_factory=list)

    def longest_gap(self) -> float:
        """Longest time between two consecutive acknowledged writes, in seconds."""
        times = [t for t, _ in self.acknowledged]
        return max((b - a for a, b in itertools.pairwise(times)), default=0.0)


class Writer:
    def __init__(self, host: str, port: int, password: str, prefix: str, interval_s: float = 0.02) -> None:
        self._connection = redis.Redis(host=host, port=port, password=password, socket_timeout=1,
                                       socket_connect_timeout=1, decode_responses=True)
        self._prefix = prefix
        self._interval_s = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.log = WriteLog()

    def __enter__(self) -> Writer:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        sequence = 0
        while not self._stop.is_set():
            sequence += 1
            key = f"{self._prefix}:{sequence}"
            try:
                self._connection.set(key, str(sequence))
                self.log.acknowledged.append((time.monotonic(), key))
            except redis.exceptions.RedisError:
                self.log.failed.append(time.monotonic())
            time.sleep(self._interval_s)


def lost(log: WriteLog, connection: redis.Redis) -> list[str]:
    """Acknowledged keys that the cluster no longer has."""
    keys = [key for _, key in log.acknowledged]
    missing: list[str] = []
    for start in range(0, len(keys), 500):
        chunk = keys[start:start + 500]
        values = connection.mget(chunk)
        missing += [key for key, value in zip(chunk, values, strict=True) if value is None]
    return missing
