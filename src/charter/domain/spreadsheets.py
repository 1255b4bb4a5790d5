"""CSV meant to be opened in a spreadsheet: RFC 4180, and no formula injection.

The file is RFC 4180: a header row, every cell quoted (a quote inside a cell doubled), lines
ended by CRLF, encoded as UTF-8 by the caller.

Formula injection (OWASP "CSV Injection"): Excel, LibreOffice Calc and Google Sheets run a cell
that begins with ``=``, ``+``, ``-`` or ``@`` as a formula, and a leading tab or carriage return
is dropped before that test, so ``"\\t=HYPERLINK(...)"`` runs too. Values written here come from
the people who entered them (a contest entry's free text, a name), so any cell that begins with
one of those six characters is neutralised: a single quote is put in front, which the spreadsheet
shows as text and does not run. The price is that a negative number or an international phone
number (``+49...``) reads with the quote in front; the value stays readable and nothing runs.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Sequence

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""A cell beginning with one of these may be run as a formula (OWASP CSV Injection)."""


def neutralised(text: str) -> str:
    """``text`` as a spreadsheet shows it without running it: a quote in front of a cell that
    begins like a formula (see the module docstring); any other text unchanged."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def cell(value: object) -> str:
    """A value as a cell's text, neutralised: nothing for ``None``, ``true``/``false`` for a
    boolean, JSON for a list or a mapping (an address), the text of anything else."""
    if value is None:
        return ""
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, list | tuple | dict):
        text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    else:
        text = str(value)
    return neutralised(text)


def csv_text(columns: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """An RFC 4180 document: the header row ``columns``, then one line per row, every cell
    quoted and neutralised. A row must have one value per column."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n", quoting=csv.QUOTE_ALL)
    writer.writerow([neutralised(c) for c in columns])
    for index, row in enumerate(rows):
        if len(row) != len(columns):
            raise ValueError(f"row {index}: {len(row)} values for {len(columns)} columns")
        writer.writerow([cell(v) for v in row])
    return out.getvalue()
