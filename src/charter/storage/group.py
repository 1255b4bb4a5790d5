"""Group commit: writes from many threads share one transaction, and so one durable commit.

A durable commit costs a disk flush (``fsync``) and, on PostgreSQL, round trips; with many
small writes arriving at once, that cost dominates. Callers hand a unit of work to
``GroupCommit.submit`` and block; one writer thread takes every unit waiting (up to
``max_group``), applies them together in one transaction, commits, and only then hands each
caller its outcome. An acknowledgement therefore always means "committed", exactly as with a
transaction per write. Under concurrent load the writer lingers ``linger`` seconds (0.2 ms) for
the callers it has just answered to hand in their next units; a lone caller never waits.

``apply`` gets the connection and the units, and returns one outcome per unit: a value, or an
exception for a unit refused without writing anything (an unknown subject, say). If ``apply``
itself raises, the transaction rolls back and each unit of that group is run again in a
transaction of its own, so that one bad unit costs the others nothing but time.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from sqlalchemy import Connection

from charter.storage.store import Store

Unit = TypeVar("Unit")
Result = TypeVar("Result")


@dataclass(slots=True)
class _Waiting(Generic[Unit, Result]):
    unit: Unit
    done: threading.Event = field(default_factory=threading.Event)
    result: Result | None = None
    error: BaseException | None = None

    def finish(self, outcome: Result | BaseException) -> None:
        if isinstance(outcome, BaseException):
            self.error = outcome
        else:
            self.result = outcome
        self.done.set()


class GroupCommit(Generic[Unit, Result]):
    def __init__(
        self,
        store: Store,
        apply: Callable[[Connection, Sequence[Unit]], Sequence[Result | BaseException]],
        *,
        max_group: int = 256,
        linger: float = 0.0002,
        name: str = "charter-group-commit",
    ) -> None:
        self.store = store
        self.apply = apply
        self.max_group = max_group
        self.linger = linger
        self._name = name
        self._queue: queue.SimpleQueue[_Waiting[Unit, Result] | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start = threading.Lock()

    def submit(self, unit: Unit) -> Result:
        """Apply ``unit`` and return its outcome once committed (or raise its error).

        Must not be called while this thread holds a write transaction of the same store:
        the writer thread would wait for it forever.
        """
        self._ensure_running()
        waiting: _Waiting[Unit, Result] = _Waiting(unit)
        self._queue.put(waiting)
        waiting.done.wait()
        if waiting.error is not None:
            raise waiting.error
        return waiting.result  # type: ignore[return-value]

    def close(self) -> None:
        """Finish the units already handed over, then stop the writer thread."""
        with self._start:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(None)
            thread.join()

    def _ensure_running(self) -> None:
        if self._thread is not None:
            return
        with self._start:
            if self._thread is None:
                # A daemon, so that a process that never calls ``close`` still exits; a unit is
                # only acknowledged after its commit, so nothing acknowledged is lost with it.
                # One writer: more (tried, two and three) split the groups and fight over the GIL.
                self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
                self._thread.start()

    def _run(self) -> None:
        concurrent = False
        while True:
            first = self._queue.get()
            if first is None:
                return
            group = [first]
            # Under concurrent load, wait a moment for the callers just answered to hand in
            # their next units: a fuller group shares one commit among more writes. A lone
            # caller (the last group held one unit) never waits.
            deadline = time.monotonic() + self.linger if concurrent else 0.0
            stopping = False
            while len(group) < self.max_group:
                try:
                    left = deadline - time.monotonic()
                    more = self._queue.get(timeout=left) if left > 0 else self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stopping = True
                    break
                group.append(more)
            concurrent = len(group) > 1
            self._commit(group)
            if stopping:
                return

    def _commit(self, group: list[_Waiting[Unit, Result]]) -> None:
        try:
            outcomes = self._apply([waiting.unit for waiting in group])
        except BaseException as error:  # handed to the callers, who would otherwise wait forever
            if len(group) == 1:
                group[0].finish(error)
                return
            for waiting in group:
                self._commit([waiting])
            return
        for waiting, outcome in zip(group, outcomes, strict=True):
            waiting.finish(outcome)

    def _apply(self, units: list[Unit]) -> Sequence[Result | BaseException]:
        with self.store.write() as connection:
            outcomes = self.apply(connection, units)
        if len(outcomes) != len(units):
            raise RuntimeError("a group commit's apply must return one outcome per unit")
        return outcomes
