"""The Spark lake engine: the Parquet connector's queries and rewrites on Apache Spark.

Chosen with ``CHARTER_LAKE_ENGINE=spark`` (master from ``CHARTER_SPARK_MASTER``, default
``local[2]``), for a lake that outgrows one machine. pyspark is an optional extra
(``pip install 'charter[spark]'``) imported only here and only when this engine starts; without
pyspark or without Java the start fails with ``EngineUnavailable`` saying which is missing, and
the rights step stays pending with that message for staff.

Rewrites run as one Spark job for all of a person's files: each source file is read with its
index as a column, erased, repartitioned by that index (one task, hence one output file, per
source) and written partitioned by it into a scratch folder the connector names (hidden, on the
same filesystem); each output file is then moved to the target the connector gave, which renames
it over the original. The lake must therefore be a filesystem the driver mounts (local disk or a
shared POSIX mount such as NFS): renames on object stores are not atomic.

Spark writes timestamps as Parquet ``TIMESTAMP_MICROS`` in UTC (not its default ``INT96``), so
that a rewritten file has the same column types as the files DuckDB and pyarrow write.
"""

from __future__ import annotations

import functools
import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from charter.connectors.parquet import EngineUnavailable, Erasure, Match, Tally

SESSION_SETTINGS = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
    "spark.sql.shuffle.partitions": "4",
}
"""Settings the engine needs in any session it is given (all settable at run time)."""


class SparkEngine:
    """The lake engine on a Spark session (see the module docstring)."""

    name = "spark"

    def __init__(self, session: Any) -> None:
        for key, value in SESSION_SETTINGS.items():
            session.conf.set(key, value)
        self.session = session

    @classmethod
    def start(cls, master: str) -> SparkEngine:
        """A session on ``master`` (``local[N]`` runs in this machine's JVM), without the web
        UI; an ``EngineUnavailable`` error when pyspark or Java is missing."""
        try:
            from pyspark.sql import SparkSession
        except ImportError as error:
            raise EngineUnavailable(
                "CHARTER_LAKE_ENGINE=spark needs pyspark: install the extra "
                "(pip install 'charter[spark]') or unset CHARTER_LAKE_ENGINE to use DuckDB",
                system_key="",
                table=None,
            ) from error
        java_home = os.environ.get("JAVA_HOME")
        if shutil.which("java") is None and not (
            java_home and Path(java_home, "bin", "java").exists()
        ):
            raise EngineUnavailable(
                "CHARTER_LAKE_ENGINE=spark needs Java 17 or later (java on PATH or JAVA_HOME)",
                system_key="",
                table=None,
            )
        builder = SparkSession.builder.master(master).appName("charter-lake")
        builder = builder.config("spark.ui.enabled", "false")
        builder = builder.config("spark.ui.showConsoleProgress", "false")
        for key, value in SESSION_SETTINGS.items():
            builder = builder.config(key, value)
        return cls(builder.getOrCreate())

    def files_holding(self, files: Sequence[str], column: str, values: Sequence[str]) -> set[str]:
        from pyspark.sql import functions as F

        found = (
            self._read(files)
            .select(F.col(column))
            .where(F.col(column).isin(list(values)))
            .select(F.input_file_name().alias("file"))
            .distinct()
            .collect()
        )
        return {_path(row["file"]) for row in found}

    def select(self, files: Sequence[str], match: Match) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = self._read(files).where(_match(match)).toArrow().to_pylist()
        return rows

    def tally(self, files: Sequence[str], match: Match, erasure: Erasure) -> dict[str, Tally]:
        from pyspark.sql import functions as F

        matches = _match(match)
        changing = matches & _changing(erasure)
        counted = (
            self._read(files)
            .withColumn("_file", F.input_file_name())
            .groupBy("_file")
            .agg(
                F.count(F.lit(1)).alias("rows"),
                F.sum(F.when(matches, 1).otherwise(0)).alias("matching"),
                F.sum(F.when(changing, 1).otherwise(0)).alias("changing"),
            )
            .where(F.col("matching") > 0)
            .collect()
        )
        return {
            _path(row["_file"]): Tally(int(row["rows"]), int(row["matching"]), int(row["changing"]))
            for row in counted
        }

    def rewrite(
        self, jobs: Sequence[tuple[str, str]], match: Match, erasure: Erasure, scratch: str
    ) -> None:
        from pyspark.sql import DataFrame
        from pyspark.sql import functions as F

        if not jobs:
            return
        matches = _match(match)
        parts: list[DataFrame] = []
        for index, (source, _) in enumerate(jobs):
            frame = self.session.read.parquet(_uri(source))
            columns = []
            for name in frame.columns:
                if erasure.deletes or name not in erasure.values:
                    columns.append(F.col(name))
                else:
                    value = erasure.values[name]
                    erased = F.lit(value).cast(frame.schema[name].dataType)
                    columns.append(F.when(matches, erased).otherwise(F.col(name)).alias(name))
            if erasure.deletes:
                frame = frame.where(~matches)
            parts.append(frame.select(*columns, F.lit(index).alias("_job")))
        combined = functools.reduce(lambda a, b: a.unionByName(b), parts)
        out = Path(scratch, "out")
        (
            combined.repartition(len(jobs), "_job")
            .write.partitionBy("_job")
            .mode("errorifexists")
            .parquet(_uri(str(out)))
        )
        for index, (_, target) in enumerate(jobs):
            written = sorted(Path(out, f"_job={index}").glob("part-*.parquet"))
            if len(written) != 1:  # one task per job: anything else is a bug, not a lake state
                raise RuntimeError(f"spark wrote {len(written)} files for one rewrite")
            os.replace(written[0], target)

    def _read(self, files: Sequence[str]) -> Any:
        return self.session.read.parquet(*[_uri(f) for f in files])


def _match(match: Match) -> Any:
    """True exactly for the person's rows (a null identity matches nothing)."""
    from pyspark.sql import functions as F

    expression = F.lit(False)
    for column, values in match.items():
        expression = expression | F.col(column).isin(list(values))
    return F.coalesce(expression, F.lit(False))


def _changing(erasure: Erasure) -> Any:
    from pyspark.sql import functions as F

    expression = F.lit(False)
    for column, value in erasure.values.items():
        if value is None:
            expression = expression | F.col(column).isNotNull()
        else:
            expression = expression | ~F.col(column).eqNullSafe(F.lit(value))
    return expression


def _uri(path: str) -> str:
    """A local file for Spark whatever its default filesystem; not percent-encoded, as Hadoop
    paths are not (a ``day=`` folder stays ``day=``)."""
    return "file://" + str(Path(path).absolute())


def _path(uri: str) -> str:
    """A local path from the file URI Spark reports (``file:///a/b`` or ``file:/a/b``)."""
    parts = urlsplit(uri)
    return unquote(parts.path) if parts.scheme in ("file", "") else uri
