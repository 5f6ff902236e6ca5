"""The store as Spark sees it: records read over JDBC in partitions.

Spark's executors read ``identity.record_features`` themselves, one record-id range per partition, so the
records never pass through the driver. What comes back (the records whose child changed) is streamed a
partition at a time into the store with COPY (``warehouse.identity.copy_link_changes``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, text
from sqlalchemy.engine import make_url

from contactpoint.settings import get_settings
from warehouse.record_features import FEATURE_COLUMNS


class SparkStoreError(RuntimeError):
    """The Spark link step cannot reach the store (no TCP address, no JDBC driver)."""


def jdbc_options(database_url: str) -> dict[str, str]:
    """Spark's JDBC options for the store at ``database_url`` (a TCP address: executors connect themselves)."""
    url = make_url(database_url)
    if not url.host or url.host.startswith("/"):
        raise SparkStoreError(
            "the Spark link step reads the store over JDBC and needs its TCP address: set CONTACTPOINT_DATABASE_URL "
            "to postgresql://user@host:port/database (the embedded server listens on a socket only)")
    options = {"url": f"jdbc:postgresql://{url.host}:{url.port or 5432}/{url.database}",
               "driver": "org.postgresql.Driver", "user": url.username or "postgres", "fetchsize": "20000"}
    if url.password:
        options["password"] = str(url.password)
    return options


def record_query(where: str) -> str:
    """The selected records' kept features (``f``) and current child (``l``), as Splink reads them."""
    features = ", ".join(f"f.{c}" for c in FEATURE_COLUMNS[1:])
    return f"""SELECT f.record_id, f.record_id::text AS unique_id, {features}, l.cp_id
               FROM identity.record_features f LEFT JOIN identity.link l ON l.record_id = f.record_id
               WHERE {where}"""


def read_records(conn: Connection, spark: Any, where: str) -> Any:
    """The selected records as a Spark DataFrame, read by the executors in record-id ranges."""
    settings = get_settings()
    if not settings.spark_jdbc_jar.exists():
        raise SparkStoreError(f"the PostgreSQL JDBC driver is not at {settings.spark_jdbc_jar} "
                              "(Debian: apt-get install libpostgresql-jdbc-java; or set CONTACTPOINT_SPARK_JDBC_JAR)")
    url = conn.engine.url.render_as_string(hide_password=False)
    low, high = conn.execute(text("SELECT min(record_id), max(record_id) FROM identity.record_features")).one()
    return (spark.read.format("jdbc").options(**jdbc_options(url))
            .option("dbtable", f"({record_query(where)}) AS records")
            .option("partitionColumn", "record_id").option("lowerBound", str(low or 0))
            .option("upperBound", str((high or 0) + 1)).option("numPartitions", str(settings.spark_read_partitions))
            .load())

