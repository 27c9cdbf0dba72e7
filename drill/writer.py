"""Writer clients: each writes a new unique key through the VIP at a steady pace and records
every attempt as acknowledged, failed (certainly not applied) or unknown (the request may have
reached the server, the reply did not come back), so a fault's write gap and the acknowledged
writes it lost can be measured."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

ACKNOWLEDGED, FAILED, UNKNOWN = "acknowledged", "failed", "unknown"


@dataclass
class WriteLog:
    """Attempts as (monotonic time the reply or error came back, key, outcome)."""

    attempts: list[tuple[float, str, str]] = field(default_factory=list)

    def times(self, outcome: str) -> list[float]:
        return [t for t, _, o in self.attempts if o == outcome]

    def keys(self, outcome: str) -> list[str]:
        return [k for _, k, o in self.attempts if o == outcome]

    @property
    def acknowledged(self) -> list[float]:
        return self.times(ACKNOWLEDGED)

    @property
    def failed(self) -> list[float]:
        return self.times(FAILED)

    @property
    def unknown(self) -> list[float]:
        return self.times(UNKNOWN)

    def longest_gap(self, start: float = float("-inf"), end: float = float("inf")) -> float:
        """Longest time between two consecutive acknowledged writes that overlaps [start, end]."""
        return longest_gap(self.acknowledged, start, end)


def longest_gap(times: list[float], start: float = float("-inf"), end: float = float("inf")) -> float:
    ordered = sorted(times)
    gaps = [b - a for a, b in itertools.pairwise(ordered) if b > start and a < end]
    return max(gaps, default=0.0)


def longest_gaps(times: list[float], count: int = 3) -> list[float]:
    """The ``count`` longest times between consecutive acknowledged writes, longest first."""
    return sorted((b - a for a, b in itertools.pairwise(sorted(times))), reverse=True)[:count]


def merge(logs: list[WriteLog]) -> WriteLog:
    return WriteLog(sorted(attempt for log in logs for attempt in log.attempts))


def outcome_of(error: redis.exceptions.RedisError) -> str:
    """Whether a failed SET can have been applied: only when the request may have been sent."""
    if isinstance(error, redis.exceptions.ResponseError):
        return FAILED  # the server answered with an error (READONLY, NOAUTH, LOADING...)
    message = str(error).lower()
    if isinstance(error, redis.exceptions.ConnectionError) and ("connecting to" in message or "refused" in message):
        return FAILED  # no connection, so no request
    return UNKNOWN  # timed out or reset after sending


class Writer:
    def __init__(self, host: str, port: int, login: Mapping[str, Any], prefix: str, interval_s: float = 0.01) -> None:
        """``login``: redis-py's user, password and TLS options (components.redis_users.redis_options)."""
        # No retries: a retried SET would hide the outcome of the first attempt.
        self._connection = redis.Redis(host=host, port=port, socket_timeout=1, socket_connect_timeout=1,
                                       decode_responses=True, retry=Retry(NoBackoff(), 0), **login)
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
                outcome = ACKNOWLEDGED
            except redis.exceptions.RedisError as error:
                outcome = outcome_of(error)
            self.log.attempts.append((time.monotonic(), key, outcome))
            self._stop.wait(self._interval_s)


class Writers:
    """Several writers at once, each on its own connection."""

    def __init__(self, count: int, host: str, port: int, login: Mapping[str, Any], prefix: str,
                 interval_s: float = 0.01) -> None:
        self._writers = [Writer(host, port, login, f"{prefix}:w{index}", interval_s) for index in range(count)]

    def __enter__(self) -> Writers:
        for writer in self._writers:
            writer.__enter__()
        return self

    def __exit__(self, *_: object) -> None:
        for writer in self._writers:
            writer.__exit__()

    @property
    def log(self) -> WriteLog:
        return merge([writer.log for writer in self._writers])


def lost(keys: list[str], connection: redis.Redis) -> list[str]:
    """Keys (acknowledged writes) that the cluster no longer has."""
    missing: list[str] = []
    for start in range(0, len(keys), 500):
        chunk = keys[start:start + 500]
        values = connection.mget(chunk)
        missing += [key for key, value in zip(chunk, values, strict=True) if value is None]
    return missing
