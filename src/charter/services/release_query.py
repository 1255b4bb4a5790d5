"""The bounding and per-cell aggregation of a statistics release, run in DuckDB over the event
lake's Parquet files (``charter.services.statistics``, its module docstring's steps 1 to 3).

Apart from the release's use case because this is the one part that reads the lake and speaks
SQL: the person resolved from cookie and account, each person's contribution bounded to ``M``
cells and ``K`` rows per cell by salted hashes, values outside a dimension's public domain sent
to ``other`` or left out. It returns true aggregates, which never leave the process: the caller
adds the noise before anything is released.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from charter.domain import release as rules
from charter.domain.errors import InvalidValue
from charter.domain.release import Bounds, Cell, Measure


@dataclass(frozen=True, slots=True)
class ReleasePlan:
    """A checked release request: what to read and how to bound and aggregate it
    (``StatisticsService.plan``); no data read, no budget spent."""

    dataset: str
    env: str | None
    measure: Measure
    dimensions: list[str]
    names: list[str]
    where: dict[str, list[str]]
    domains: dict[str, tuple[str, ...]]
    columns: dict[str, str]
    column: str | None
    clamp: tuple[float, float] | None
    edges: list[float]
    cells: list[Cell]
    bounds: Bounds
    epsilon: float
    sensitivity: float
    scale: float
    count_scale: float
    categories: list[str]


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def bounded_aggregates(
    plan: ReleasePlan, files: list[str], salt: str
) -> tuple[dict[Cell, int], dict[Cell, float]]:
    """Run the bounding and the per-cell aggregation in DuckDB (module docstring, step 2)."""
    import duckdb

    params: list[Any] = [files]
    select_dims = []
    conditions = []
    for i, key in enumerate(plan.dimensions):
        column = _quote(plan.columns[key])
        domain = list(plan.domains[key])
        params_index = len(params) + 1
        params.append(domain)
        if "other" in domain:
            expr = (
                f"CASE WHEN list_contains(${params_index}, {column}) THEN {column} "
                f"WHEN {column} IS NULL THEN NULL ELSE 'other' END"
            )
        else:
            expr = f"CASE WHEN list_contains(${params_index}, {column}) THEN {column} END"
        select_dims.append(f"{expr} AS d{i}")
    for key, values in plan.where.items():
        params.append(values)
        conditions.append(f"list_contains(${len(params)}, {_quote(plan.columns[key])})")
    n = len(plan.dimensions)
    value_expr = "NULL"
    if plan.measure is Measure.HISTOGRAM:
        assert plan.column is not None
        v = f"CAST({_quote(plan.column)} AS DOUBLE)"
        labels = rules.bin_labels(plan.edges)
        cases = " ".join(
            f"WHEN {v} < {edge!r} THEN '{labels[j]}'" for j, edge in enumerate(plan.edges[1:-1])
        )
        select_dims.append(f"CASE {cases} ELSE '{labels[-1]}' END AS d{n}")
        conditions.append(f"{_quote(plan.column)} IS NOT NULL")
        n += 1
    elif plan.measure is Measure.SUM:
        assert plan.column is not None and plan.clamp is not None
        lower, upper = plan.clamp
        value_expr = f"greatest(least(CAST({_quote(plan.column)} AS DOUBLE), {upper!r}), {lower!r})"
        conditions.append(f"{_quote(plan.column)} IS NOT NULL")
    dims = [f"d{i}" for i in range(n)]
    dim_list = ", ".join(dims)
    present = " AND ".join(f"{d} IS NOT NULL" for d in dims) or "TRUE"
    where = " AND ".join(conditions) or "TRUE"
    params.append(salt)
    salt_param = f"${len(params)}"
    cell_key = ", ".join(["person", *dims])
    # The M cells of a person with the smallest salted hashes: min_by(..., M) is one hash
    # aggregate, where row_number() over the person would sort every row.
    cell_struct = ", ".join(f"'{d}': {d}" for d in [*dims, "c", "s"])
    dims_comma = dim_list + ", " if dims else ""
    k_rows, m_cells = plan.bounds.rows_per_cell, plan.bounds.cells_per_person
    # The person: the account where the cookie was seen signed in, else the cookie.
    if plan.measure is Measure.SUM:
        # A sum keeps K rows per cell by the salted hash of the event: row level throughout.
        per_cell = f"""
        links AS (
            SELECT cookie_id, max(account_id) AS account_id
            FROM raw WHERE account_id IS NOT NULL GROUP BY cookie_id),
        persons AS (
            SELECT coalesce(links.account_id, raw.cookie_id) AS person, raw.*
            FROM raw LEFT JOIN links USING (cookie_id)),
        rowed AS (
            SELECT person, {dims_comma} v, row_number() OVER (
                PARTITION BY person{", " + dim_list if dims else ""}
                ORDER BY hash({salt_param}, person, event_id)) AS rn
            FROM persons),
        pc AS (
            SELECT person, {dims_comma} count(*) AS c, sum(v) AS s
            FROM rowed WHERE rn <= {k_rows} GROUP BY ALL)"""  # noqa: S608 (see below)
    else:
        # A count needs only how many rows each person has per cell: reduce to (cookie, cell)
        # first (one pass), then resolve the person over those far fewer rows.
        per_cell = f"""
        cc AS (
            SELECT cookie_id, {dims_comma} count(*) AS n, max(account_id) AS account_id
            FROM raw GROUP BY ALL),
        links AS (
            SELECT cookie_id, max(account_id) AS account_id
            FROM cc WHERE account_id IS NOT NULL GROUP BY cookie_id),
        pc AS (
            -- A cookie never signed in is its own person, one row per cell already; only the
            -- cookies of an account are regrouped under it.
            SELECT cookie_id AS person, {dims_comma} least(n, {k_rows}) AS c, 0.0 AS s
            FROM cc ANTI JOIN links USING (cookie_id)
            UNION ALL
            SELECT links.account_id AS person, {dims_comma} least(sum(n), {k_rows}) AS c,
                   0.0 AS s
            FROM cc JOIN links USING (cookie_id) GROUP BY ALL)"""  # noqa: S608 (see below)
    # Column names come from the manifest (key pattern) or pass _identifier; bin labels are
    # formatted floats; every value (domains, filters, salt, files) is a bound parameter.
    sql = f"""
    WITH raw AS (
        SELECT * FROM (
            SELECT cookie_id, account_id, event_id,
                   {", ".join([*select_dims, value_expr + " AS v"])}
            FROM read_parquet($1, hive_partitioning = true, union_by_name = true)
            WHERE {where})
        WHERE {present}),
    {per_cell},
    many AS (SELECT person FROM pc GROUP BY person HAVING count(*) > {m_cells}),
    kept AS (
        -- Most people have M cells or fewer and keep them all; only the few others need the
        -- M with the smallest salted hashes (a list built per person: the costly part).
        SELECT {dims_comma} c, s FROM pc ANTI JOIN many USING (person)
        UNION ALL
        SELECT {", ".join(f"x.{d}" for d in dims) + ", " if dims else ""} x.c, x.s FROM (
            SELECT unnest(min_by({{{cell_struct}}}, hash({salt_param}, {cell_key}), {m_cells}))
                AS x
            FROM pc SEMI JOIN many USING (person)
            GROUP BY person))
    SELECT {dims_comma} sum(c)::BIGINT AS c, sum(s) AS s
    FROM kept {"GROUP BY ALL" if dims else ""}
    """  # noqa: S608
    with duckdb.connect() as connection:
        _check_columns(connection, files, plan)
        rows = connection.execute(sql, params).fetchall()
    counts: dict[Cell, int] = {}
    sums: dict[Cell, float] = {}
    for row in rows:
        cell = tuple(str(x) for x in row[:n])
        if row[n] is None:
            continue
        counts[cell] = int(row[n])
        sums[cell] = float(row[n + 1] or 0.0)
    return counts, sums


def _check_columns(connection: Any, files: list[str], plan: ReleasePlan) -> None:
    found = {
        row[0]: str(row[1]).upper()
        for row in connection.execute(
            "DESCRIBE SELECT * FROM read_parquet($1, hive_partitioning = true, "
            "union_by_name = true)",
            [files],
        ).fetchall()
    }
    for key, column in plan.columns.items():
        if column not in found:
            raise InvalidValue(f"by: the dataset {plan.dataset} has no column '{column}' ({key})")
    if plan.column is not None:
        kind = found.get(plan.column)
        numeric = (
            "INT",
            "BIGINT",
            "DOUBLE",
            "FLOAT",
            "DECIMAL",
            "SMALLINT",
            "TINYINT",
            "HUGEINT",
            "UBIGINT",
            "UINTEGER",
            "INTEGER",
            "REAL",
        )
        if kind is None or not kind.startswith(numeric):
            raise InvalidValue(f"column: '{plan.column}' is not a numeric column of {plan.dataset}")
