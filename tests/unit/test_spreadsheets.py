"""CSV for spreadsheets (``charter.domain.spreadsheets``): RFC 4180 and no formula injection."""

from __future__ import annotations

import csv
import io

import pytest

from charter.domain.spreadsheets import cell, csv_text, neutralised


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("=1+1", "'=1+1"),
        ("+49 30 901820", "'+49 30 901820"),
        ("-2", "'-2"),
        ("@SUM(A1:A2)", "'@SUM(A1:A2)"),
        ("\t=cmd", "'\t=cmd"),
        ("\r=cmd", "'\r=cmd"),
        ("Ann Lopez", "Ann Lopez"),
        ("a=b", "a=b"),
        (" =1", " =1"),
        ("'quoted", "'quoted"),
        ("", ""),
    ],
)
def test_a_cell_that_begins_like_a_formula_is_neutralised(text: str, shown: str) -> None:
    assert neutralised(text) == shown


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, ""),
        (True, "true"),
        (False, "false"),
        (42, "42"),
        (-3, "'-3"),
        ({"street": "Hauptstr. 1", "city": "Köln"}, '{"city": "Köln", "street": "Hauptstr. 1"}'),
        (["=a", "b"], '["=a", "b"]'),
        ("2026-06-01", "2026-06-01"),
    ],
)
def test_values_become_cells(value: object, text: str) -> None:
    assert cell(value) == text


def test_the_document_is_rfc_4180_with_a_header_row() -> None:
    text = csv_text(["name", "note"], [["Zoë", 'said "hi", then\nleft'], [None, "=2"]])
    assert text == '"name","note"\r\n"Zoë","said ""hi"", then\nleft"\r\n"","\'=2"\r\n'
    assert list(csv.reader(io.StringIO(text, newline=""))) == [
        ["name", "note"],
        ["Zoë", 'said "hi", then\nleft'],
        ["", "'=2"],
    ]


def test_a_header_that_begins_like_a_formula_is_neutralised_too() -> None:
    assert csv_text(["=x"], []) == '"\'=x"\r\n'


def test_a_row_must_fill_the_columns() -> None:
    with pytest.raises(ValueError, match="row 1: 1 values for 2 columns"):
        csv_text(["a", "b"], [["1", "2"], ["1"]])
