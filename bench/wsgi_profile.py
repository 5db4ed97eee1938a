"""Where a request's CPU goes, measured on real requests through Django's WSGI handler.

Used by bench/run.py. Each request is a WSGI environ handed to the same WSGIHandler
gunicorn runs, so it takes every step a served request takes (the request_started and
request_finished signals with the per-request connection check, the CSRF check, the
middleware), unlike the test client, which skips the connection check and the CSRF check.

No profiler: cProfile slows every Python call and so inflates the ORM and the templates
most. Instead a few dozen functions, the entry points of each component, are wrapped with
a timer that charges the thread's CPU time (time.thread_time_ns) to whichever component is
innermost, so nested components are not counted twice and the components add up to the
whole. PostgreSQL's side is the CPU time its backend process spent during the requests,
read from /proc/<pid>/schedstat (the database runs on this machine).
"""

import functools
import io
import threading
import time
from collections import defaultdict
from pathlib import Path

HANDLER = "middleware, session, auth, routing, views, handler"
BUILD = "ORM queryset building"
COMPILE = "SQL compilation"
ORM_RUN = "ORM iterate/save/atomic"
PSYCOPG = "psycopg (client side of SQL)"
CHECK = "connection check (SELECT 1)"
TEMPLATES = "templates + tags + form widgets"
CELERY = "Celery publish"
CRYPTO = "Fernet + HMAC"
POSTGRES = "PostgreSQL backend (parse, plan, execute)"

COMPONENTS = [POSTGRES, PSYCOPG, CHECK, BUILD, COMPILE, ORM_RUN, TEMPLATES, CELERY, CRYPTO]
COMPONENTS.append(HANDLER)


class CpuLedger:
    """Exclusive CPU time per component: a stack of the components being run."""

    def __init__(self):
        self.totals: dict[str, int] = defaultdict(int)
        self.stack = [HANDLER]
        self.mark = time.thread_time_ns()
        # The thread serving the requests: work on other threads (the background thread
        # publishing code emails after the response) is not the request's.
        self.thread = threading.get_ident()

    def enter(self, component: str) -> None:
        now = time.thread_time_ns()
        self.totals[self.stack[-1]] += now - self.mark
        self.stack.append(component)
        self.mark = now

    def leave(self) -> None:
        now = time.thread_time_ns()
        self.totals[self.stack.pop()] += now - self.mark
        self.mark = now

    def skip(self) -> None:
        """Charge the time since the last mark to nobody (the bench's own bookkeeping)."""
        self.mark = time.thread_time_ns()

    def reset(self) -> None:
        self.totals.clear()
        self.stack = [HANDLER]
        self.mark = time.thread_time_ns()


LEDGER = CpuLedger()


def _wrap(owner, attribute: str, component: str) -> None:
    """Charge the CPU spent in owner.attribute (a class or a module) to `component`."""
    raw = owner.__dict__[attribute]
    is_classmethod = isinstance(raw, classmethod)
    original = raw.__func__ if is_classmethod else raw

    @functools.wraps(original)
    def timed(*args, **kwargs):
        if threading.get_ident() != LEDGER.thread:
            return original(*args, **kwargs)
        LEDGER.enter(component)
        try:
            return original(*args, **kwargs)
        finally:
            LEDGER.leave()

    setattr(owner, attribute, classmethod(timed) if is_classmethod else timed)


def _instrument() -> None:
    """Wrap each component's entry points (once per process)."""
    from celery.app.task import Task
    from django.db.backends.base.base import BaseDatabaseWrapper
    from django.db.backends.postgresql.base import DatabaseWrapper
    from django.db.backends.utils import CursorWrapper
    from django.db.models import Model, QuerySet
    from django.db.models.sql import compiler
    from django.db.models.sql.query import Query
    from django.db.transaction import Atomic
    from django.template.backends.django import Template

    from codes import notifications, tokens

    for name in [
        "__init__",
        "_chain",
        "_clone",
        "filter",
        "exclude",
        "select_related",
        "annotate",
        "order_by",
        "values",
        "values_list",
        "select_for_update",
        "__getitem__",
        "get",
        "first",
    ]:
        _wrap(QuerySet, name, BUILD)
    for name in ["add_q", "clone", "get_compiler"]:
        _wrap(Query, name, BUILD)
    for compiler_class in [
        compiler.SQLCompiler,
        compiler.SQLInsertCompiler,
        compiler.SQLDeleteCompiler,
        compiler.SQLUpdateCompiler,
        compiler.SQLAggregateCompiler,
    ]:
        _wrap(compiler_class, "as_sql", COMPILE)
        if "execute_sql" in compiler_class.__dict__:
            _wrap(compiler_class, "execute_sql", ORM_RUN)
    for name in ["_fetch_all", "update", "count", "exists", "create", "bulk_create"]:
        _wrap(QuerySet, name, ORM_RUN)
    _wrap(Model, "save_base", ORM_RUN)
    _wrap(Atomic, "__enter__", ORM_RUN)
    _wrap(Atomic, "__exit__", ORM_RUN)
    _wrap(CursorWrapper, "_execute", PSYCOPG)
    _wrap(CursorWrapper, "_executemany", PSYCOPG)
    _wrap(DatabaseWrapper, "is_usable", CHECK)
    _wrap(BaseDatabaseWrapper, "close_if_unusable_or_obsolete", CHECK)
    _wrap(Template, "render", TEMPLATES)
    _wrap(Task, "apply_async", CELERY)
    _wrap(notifications, "code_emails_queue", CELERY)
    for name in ["encrypt", "decrypt", "code_hash", "code_matches"]:
        _wrap(tokens, name, CRYPTO)


def _backend_cpu_ns(pid: int | None) -> int | None:
    if pid is None:
        return None
    try:
        return int(Path(f"/proc/{pid}/schedstat").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _backend_pid() -> int | None:
    from django.db import connection

    connection.ensure_connection()
    return connection.connection.info.backend_pid


def environ_for(line: str, *, port: int) -> dict:
    """The WSGI environ gunicorn would build for one line of the bench's request list."""
    method, path, cookie, *body = line.split("\t")
    payload = body[0].encode() if body else b""
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "SCRIPT_NAME": "",
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": str(port),
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": f"127.0.0.1:{port}",
        "HTTP_COOKIE": cookie,
        "HTTP_USER_AGENT": "otpdelivery-bench",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(payload),
        "wsgi.errors": io.StringIO(),
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    if method == "POST":
        environ["CONTENT_TYPE"] = "application/x-www-form-urlencoded"
        environ["CONTENT_LENGTH"] = str(len(payload))
    return environ


class _Counter:
    def __init__(self):
        self.statements = 0
        self.checks = 0

    def __call__(self, execute, sql, params, many, context):
        self.statements += 1
        return execute(sql, params, many, context)


def _serve(application, environ: dict) -> str:
    statuses = []

    def start_response(status, headers, exc_info=None):
        statuses.append(status)

    response = application(environ, start_response)
    try:
        b"".join(response)
    finally:
        # Fires request_finished: the connection check at the end of each request.
        response.close()
    return statuses[0]


def profile_requests(scenarios: dict[str, list[str]], *, port: int, warmup: int = 5) -> dict:
    """For each scenario, the CPU per request by component (ms), statements per request
    and connection checks per request. The first `warmup` lines of each list are sent
    first and not counted (template loading, first compilation of each statement)."""
    from django.core.handlers.wsgi import WSGIHandler
    from django.db import connection

    from otpdelivery import background

    _instrument()
    application = WSGIHandler()
    results = {}
    for name, lines in scenarios.items():
        for line in lines[:warmup]:
            _serve(application, environ_for(line, port=port))
        measured = lines[warmup:]
        counter = _Counter()
        check_calls = _count_checks()
        backend_ns = backend_requests = 0
        LEDGER.reset()
        with connection.execute_wrapper(counter):
            for line in measured:
                # PostgreSQL's CPU per request, on requests that kept their connection
                # (one that reaches DATABASE_CONN_MAX_AGE is closed at its end).
                pid = _backend_pid()
                before = _backend_cpu_ns(pid)
                LEDGER.skip()
                status = _serve(application, environ_for(line, port=port))
                # What the request handed to the background thread runs before the next
                # request (its CPU is that thread's, not the request's).
                background.wait_until_idle()
                if not status.startswith(("200", "302")):
                    raise SystemExit(f"bench: profiling {line.split(chr(9))[:2]} answered {status}")
                kept = connection.connection is not None and _backend_pid() == pid
                if kept and before is not None:
                    backend_ns += _backend_cpu_ns(pid) - before
                    backend_requests += 1
        count = len(measured)
        totals = {
            component: nanoseconds / count for component, nanoseconds in LEDGER.totals.items()
        }
        if backend_requests:
            totals[POSTGRES] = backend_ns / backend_requests
        results[name] = {
            "ms": {component: totals.get(component, 0) / 1e6 for component in COMPONENTS},
            "has_backend": POSTGRES in totals,
            "statements": counter.statements / count,
            "checks": check_calls() / count,
            "requests": count,
        }
    return results


def _count_checks():
    """How many connection checks (is_usable's SELECT 1) run from now on."""
    from django.db.backends.postgresql.base import DatabaseWrapper

    calls = [0]
    wrapped = DatabaseWrapper.is_usable

    def counting(self):
        calls[0] += 1
        return wrapped(self)

    DatabaseWrapper.is_usable = counting

    def read():
        DatabaseWrapper.is_usable = wrapped
        return calls[0]

    return read


def table(results: dict) -> list[str]:
    """The results as a Markdown table: a row per component, a column per scenario."""
    names = list(results)
    lines = [
        "| ms of CPU per request | " + " | ".join(names) + " |",
        "| --- | " + " | ".join("---" for _ in names) + " |",
    ]
    for component in COMPONENTS:
        cells = []
        for name in names:
            if component == POSTGRES and not results[name]["has_backend"]:
                cells.append("n/a")
            else:
                value = results[name]["ms"][component]
                cells.append(f"{value:.2f}" if value >= 0.005 else "–")
        lines.append(f"| {component} | " + " | ".join(cells) + " |")
    lines.append(
        "| **total** | "
        + " | ".join(f"**{sum(results[name]['ms'].values()):.2f}**" for name in names)
        + " |"
    )
    lines.append(
        "| statements per request (+ connection checks) | "
        + " | ".join(
            f"{results[name]['statements']:.1f} (+{results[name]['checks']:.0f})" for name in names
        )
        + " |"
    )
    return lines
