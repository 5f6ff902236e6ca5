"""The hub's one configuration object, read from ``CONTACTPOINT_*`` environment variables."""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    """Everything the hub can be told from outside; nothing else reads the environment."""

    model_config = SettingsConfigDict(env_prefix="CONTACTPOINT_", extra="ignore")

    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the directory store; unset starts an embedded PostgreSQL.",
    )
    data_dir: Path = Field(
        default=PROJECT_ROOT / ".contactpoint",
        description="Folder the hub owns: embedded database, landing area, demo drop zone, Airflow home.",
    )
    dropzone_dir: Path | None = Field(
        default=None, description="Folder drop zone (inbound/<feed>/...); default <data_dir>/dropzone."
    )
    sftp_conn_id: str | None = Field(
        default=None,
        description="Airflow connection of the SFTP drop zone (e.g. contactpoint_sftp); unset: the folder drop zone.",
    )
    link_backend: str = Field(
        default="duckdb", pattern="^(duckdb|spark)$",
        description="Where Splink scores pairs: duckdb (in-process) or spark (install the spark extra).",
    )
    spark_master: str = Field(
        default="local[2]", description="Spark master for the Spark link step (local[N], spark://host:7077, ...).")
    spark_driver_memory: str = Field(default="4g", description="Spark driver memory (local mode: the whole JVM).")
    spark_jdbc_jar: Path = Field(
        default=Path("/usr/share/java/postgresql.jar"),
        description="PostgreSQL JDBC driver Spark reads the store with (Debian: libpostgresql-jdbc-java).")
    spark_read_partitions: int = Field(
        default=8, ge=1, description="Partitions (parallel JDBC reads) of the records the Spark link step reads.")
    as_of: date | None = Field(
        default=None, description="Freeze the hub's clock at this date (demos, tests, backfills)."
    )
    log_level: str = Field(default="INFO", description="Python logging level name.")
    load_workers: int = Field(
        default=0, ge=0,
        description="Processes that parse, validate and stage files side by side; 0: one per core, 1: in-process.",
    )
    db_connect_timeout: int = Field(default=10, ge=1, description="Seconds to wait for the store to answer a connect.")
    db_statement_timeout: int = Field(
        default=1800, ge=0, description="Seconds any one SQL statement may run (0: no limit).")
    db_lock_timeout: int = Field(
        default=120, ge=0, description="Seconds a statement may wait for a lock another session holds (0: no limit).")
    db_idle_in_transaction_timeout: int = Field(
        default=900, ge=0,
        description="Seconds the store lets a session sit idle inside a transaction before ending it, "
                    "so a vanished client's row locks are released (0: no limit).")
    db_keepalive_seconds: int = Field(
        default=30, ge=1, description="TCP keepalive idle seconds; a dead link is given up after about twice this.")
    key_vault_dir: Path | None = Field(
        default=None,
        description="Where the archive's per-child keys live, outside the database; default <data_dir>/key-vault.",
    )
    audit_unanchored_max: int = Field(
        default=100_000, ge=0,
        description="`audit verify` fails when more entries than this stand after the newest anchor (or with "
                    "no anchor at all): the audit_anchor DAG anchors the chain every hour.",
    )
    airflow_database_url: str | None = Field(
        default=None,
        description="Airflow's metadata database: a PostgreSQL URL, or 'sqlite' for a file under the Airflow home; "
                    "unset: a database named airflow on the hub's own server (the embedded one by default).",
    )
    cors_origins: str = Field(
        default="",
        description="Browser front ends allowed to call the directory API from another origin, comma-separated "
                    "(e.g. https://cp.example.gov.uk); empty: none.",
    )
    console_secure_cookie: bool = Field(
        default=True, description="Mark the steward console's cookies Secure (https only); false for plain http."
    )
    api_database_url: str | None = Field(
        default=None,
        description="How the directory API's read routes log in: as cp_api, a role that owns and reads no table "
                    "(e.g. postgresql://cp_api:SECRET@db/contactpoint); unset: the store's URL with the user cp_api "
                    "and no password (peer, certificate or trust authentication).",
    )
    console_database_url: str | None = Field(
        default=None,
        description="How the steward and operations console logs in: as cp_console_login, a role that owns and reads "
                    "no table and runs only the console's session-taking functions; unset: the store's URL with the "
                    "user cp_console_login and no password (peer, certificate or trust authentication).",
    )
    api_pool_size: int = Field(
        default=8, ge=1, description="Connections the directory API's read routes keep open as cp_api.")

    @property
    def cors_origin_list(self) -> list[str]:
        """The CORS allow-list as origins (no trailing slash: browsers send none)."""
        return [o.strip().rstrip("/") for o in self.cors_origins.split(",") if o.strip()]

    @property
    def embedded_pgdata(self) -> Path:
        """Data folder of the embedded PostgreSQL server."""
        return self.data_dir / "pgdata"

    @property
    def landing_dir(self) -> Path:
        """Local folder where fetched files wait, under their sha256, until they are loaded."""
        return self.data_dir / "landing"

    @property
    def dropzone(self) -> Path:
        """The folder drop zone used when no SFTP server is configured."""
        return self.dropzone_dir or self.data_dir / "dropzone"

    @property
    def key_vault(self) -> Path:
        """Folder of the archive's keys (a KMS in production): destroying a key destroys every copy of a record."""
        return self.key_vault_dir or self.data_dir / "key-vault"

    @property
    def airflow_home(self) -> Path:
        """Airflow's home for the self-contained local set-up (metadata DB, logs)."""
        return self.data_dir / "airflow"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings of this process, read once."""
    return Settings()
