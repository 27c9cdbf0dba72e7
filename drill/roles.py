"""Split-brain watch: asks every node's own Redis for its ROLE, both nodes in the same round,
every 100 ms, and counts the rounds in which more than one node answered "master"."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from components.settings import Node

ROUND_S = 0.1


@dataclass
class RoleRounds:
    """Rounds as (monotonic time, the role each node answered; None when it did not answer)."""

    rounds: list[tuple[float, tuple[str | None, ...]]] = field(default_factory=list)

    def double_masters(self) -> list[float]:
        """When more than one node said master in the same round."""
        return [when for when, roles in self.rounds if roles.count("master") > 1]

    def summary(self) -> str:
        unanswered = sum(1 for _, roles in self.rounds if None in roles)
        return (f"{len(self.rounds)} role rounds, {unanswered} with a node not answering, "
                f"{len(self.double_masters())} with two masters")


class RoleWatch:
    """Runs ``role_of`` on every node each round until the ``with`` block ends."""

    def __init__(self, nodes: Sequence[Node], role_of: Callable[[Node], str | None]) -> None:
        self._nodes = list(nodes)
        self._role_of = role_of
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.rounds = RoleRounds()

    def __enter__(self) -> RoleWatch:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        with ThreadPoolExecutor(max_workers=len(self._nodes)) as pool:
            while not self._stop.is_set():
                started = time.monotonic()
                roles = tuple(pool.map(self._role_of, self._nodes))
                self.rounds.rounds.append((started, roles))
                self._stop.wait(max(0.0, ROUND_S - (time.monotonic() - started)))
