"""Concurrent submissions for the same new person end in one subject, on both databases."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import func, select

from charter.facade import Charter
from charter.storage.tables import identities, subjects


def test_simultaneous_first_submissions_link_to_one_subject(charter: Charter) -> None:
    def submit(index: int) -> str:
        receipt = charter.submit(
            "support",
            brand="acme",
            identities={"email": "dee.concurrent@example.org"},
            data={"message": f"ticket {index}"},
        )
        return receipt.subject_id

    with ThreadPoolExecutor(max_workers=6) as pool:
        subject_ids = set(pool.map(submit, range(12)))
    assert len(subject_ids) == 1
    with charter.store.read() as connection:
        assert connection.scalar(select(func.count()).select_from(subjects)) == 1
        assert connection.scalar(select(func.count()).select_from(identities)) == 1
