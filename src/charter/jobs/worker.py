"""The background worker of one ``charter serve`` process.

Every ``interval`` seconds, and at once when woken (a request was just verified or approved),
it carries out the verified requests and resumes those a crash interrupted, delivers the
outbox, tells people of data received about them from partners (GDPR Art. 14,
``charter.services.sources``), reminds staff of deadlines (requests, breach notices), deletes
expired access
packages and the parents' contacts of consents nobody answered or used in time; once a day it
runs the
retention sweep (the first round after start-up included). Each job's failure is
logged and retried on the next round; none stops the others. Several processes may run one
each: requests are claimed by lease and outbox messages by lease, so nothing is done twice at
once.
"""

from __future__ import annotations

import logging
import threading
import time

from charter.facade import Charter

logger = logging.getLogger("charter.jobs")


class Worker:
    SWEEP_EVERY = 24 * 3600.0

    def __init__(self, charter: Charter, interval: float = 15.0) -> None:
        self.charter = charter
        self.interval = interval
        self._swept_at: float | None = None
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="charter-worker", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def wake(self) -> None:
        self._wake.set()

    def run_once(self) -> None:
        charter = self.charter
        for name, job in (
            ("requests", charter.rights.run_pending),
            ("reminders", charter.requests.remind),
            ("breach reminders", charter.breaches.remind),
            ("packages", charter.rights.expire_packages),
            ("parental consents", charter.parents.expire),
            ("art. 14 notices", charter.sources.send_due),
            ("outbox", charter.outbox.deliver),
            ("retention", self._sweep_daily),
        ):
            try:
                job()
            except Exception:
                logger.exception("job %s failed; it runs again on the next round", name)

    def _sweep_daily(self) -> None:
        # Several processes each sweep once a day; a second sweep the same day finds nothing.
        now = time.monotonic()
        if self._swept_at is not None and now - self._swept_at < self.SWEEP_EVERY:
            return
        report = self.charter.retention.sweep()
        self._swept_at = now  # after success: a failed sweep is tried again next round
        logger.info("retention sweep removed %d values and identities", report.removed)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.run_once()
            self._wake.wait(self.interval)
            self._wake.clear()
