"""`make bench`: how fast otpdelivery does what it exists for, against same-run baselines.

Absolute figures on a shared machine drift, so each figure is set against a yardstick
measured in the same run: the code entry and tracking pages against /bench/baseline (a
signed-in page with one indexed read and no template) in the same gunicorn, the day-end
sweep against a raw SQL UPDATE of the same rows. Shipping 10,000 parcels is timed and
its queries counted.

The bench starts and stops all it needs: a dedicated PostgreSQL database (dropped and
made anew), gunicorn with production settings on a loopback port, and wrk as the load
generator (installed with apt when missing). wrk is a C program using little CPU per
request, which matters on a two-core machine where the load generator competes with the
server; bench/replay.lua makes each request a real signed-in one, POSTs with a CSRF token.

Prints the figures and writes them to bench/results/<date>-<host>.txt.
"""

import base64
import datetime
import http.client
import itertools
import json
import os
import platform
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

from bench import browser as bench_browser  # noqa: E402
from bench import wsgi_profile  # noqa: E402

BIN = Path(sys.executable).parent
RESULTS_DIR = BASE_DIR / "bench" / "results"

# Knobs, all from the environment (see the README's Benchmarks section).
DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/otp_bench")
BROKER_URL = os.environ.get("BENCH_CELERY_BROKER_URL", "redis://127.0.0.1:6379/15")
PORT = int(os.environ.get("BENCH_PORT", "8097"))
SECONDS = int(os.environ.get("BENCH_SECONDS", "8"))
WARMUP_SECONDS = 4
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "8"))
PARCELS = int(os.environ.get("BENCH_PARCELS", "10000"))
SWEEP_CODES = int(os.environ.get("BENCH_SWEEP_CODES", "1000000"))
THREADS = 2
COURIERS = 20
CUSTOMERS = 100
# Parcels kept for correct codes: each is delivered once, so the pool must outlast the
# scenario (wrk's `wrapped` count says if it did not).
CORRECT_POOL = PARCELS * 6 // 10

# Requests (and parcels) run again in-process under cProfile, to show where time goes.
PROFILED = 100
# Requests of each kind sent before the profiled ones (templates loaded, statements seen).
PROFILE_WARMUP = 5
# Fresh browser contexts on the emulated slow network, each opening two stops.
BROWSER_RUNS = 3

# Throughput against the baseline's, in the same run.
PAGE_TARGETS = {
    "tracking page": 0.6,
    "courier's stop page": 0.6,
    "code entry, wrong code": 0.5,
    "code entry, right code": 0.6,
}
TARGET_SWEEP_RATIO = 1.3
TARGET_SHIP_SECONDS = 30.0

# Wrong codes are entered hundreds of times a second here. With the real limits (5 per
# code, 10 per parcel, 10 per courier an hour) every parcel and courier would be locked
# or blocked within a second and the bench would measure the refusal instead.
RAISED_LIMITS = {
    "CODE_MAX_WRONG_ATTEMPTS": "1000000",
    "PARCEL_MAX_WRONG_ATTEMPTS": "1000000",
    "COURIER_MAX_WRONG_ATTEMPTS": "1000000",
}

report_lines: list[str] = []


def say(line: str = "") -> None:
    print(line, flush=True)
    report_lines.append(line)


def step(message: str) -> None:
    """Progress on stderr: not part of the figures."""
    print(f"  … {message}", file=sys.stderr, flush=True)


# --- The machine and the environment -----------------------------------------------------


def bench_environment() -> dict[str, str]:
    """Production settings, fresh keys, and the bench's own database and broker."""
    return {
        "DJANGO_SETTINGS_MODULE": "otpdelivery.settings",
        "DATABASE_URL": DATABASE_URL,
        "CELERY_BROKER_URL": BROKER_URL,
        "DJANGO_DEBUG": "false",
        "DJANGO_STATICFILES_STORAGE": "whitenoise.storage.CompressedManifestStaticFilesStorage",
        "DATABASE_CONN_MAX_AGE": "60",
        "LOG_FORMAT": "json",
        "LOG_LEVEL": "INFO",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "BENCH_BASELINE_VIEW": "true",
        "GUNICORN_BIND": f"127.0.0.1:{PORT}",
        # No worker recycled mid-run: a new worker's first requests load Django, templates
        # and the broker's client, which would land on whichever scenario is running (the
        # faster the pages, the more requests, the more recycling).
        "GUNICORN_MAX_REQUESTS": "0",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DELIVERY_CODE_ENCRYPTION_KEYS": base64.urlsafe_b64encode(os.urandom(32)).decode(),
        "DELIVERY_CODE_HASH_KEY": secrets.token_urlsafe(32),
        **RAISED_LIMITS,
    }


def _first_match(path: str, pattern: str) -> str:
    try:
        match = re.search(pattern, Path(path).read_text(), re.MULTILINE)
    except OSError:
        return "unknown"
    return match.group(1).strip() if match else "unknown"


def _command_version(command: list[str]) -> str:
    try:
        result = subprocess.run(command, capture_output=True, text=True, check=False)
    except OSError:
        return "unknown"
    return (result.stdout or result.stderr).strip().splitlines()[0]


def machine_facts() -> list[str]:
    import django
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        postgres = cursor.fetchone()[0]
    memory_kb = int(_first_match("/proc/meminfo", r"^MemTotal:\s+(\d+)"))
    load = " ".join(f"{value:.2f}" for value in os.getloadavg())
    commit = _command_version(["git", "-C", str(BASE_DIR), "rev-parse", "--short", "HEAD"])
    cpu_model = _first_match("/proc/cpuinfo", r"^model name\s*:(.*)$")
    return [
        f"code: commit {commit}",
        f"machine: {os.cpu_count()} CPUs ({cpu_model}),"
        f" {memory_kb / 1024 / 1024:.1f} GiB memory, {platform.system()} {platform.release()}",
        f"load average at start (1, 5, 15 min): {load} — the machine may be shared",
        f"versions: Python {platform.python_version()}, Django {django.get_version()},"
        f" PostgreSQL {postgres}, {_command_version([str(BIN / 'gunicorn'), '--version'])},"
        f" {_command_version(['wrk', '--version']).split(' Copyright')[0]}",
    ]


def ensure_wrk() -> None:
    if shutil.which("wrk"):
        return
    step("installing wrk with apt")
    if os.geteuid() != 0:
        sys.exit("make bench needs wrk: apt-get install wrk (as root)")
    subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=False)
    if not shutil.which("wrk"):
        subprocess.run(["apt-get", "update", "-qq"], check=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True)


def reset_database() -> None:
    import psycopg
    from psycopg import sql

    parts = urlsplit(DATABASE_URL)
    name = parts.path.lstrip("/")
    maintenance = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(maintenance, autocommit=True) as connection:
        connection.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def manage(*args: str) -> None:
    subprocess.run(
        [sys.executable, "manage.py", *args], cwd=BASE_DIR, check=True, stdout=subprocess.DEVNULL
    )


def queued_tasks() -> int:
    import redis

    return redis.Redis.from_url(BROKER_URL).llen("celery")


def purge_queue() -> None:
    import redis

    # Only the queue of the bench's own Redis database: nothing runs these tasks.
    redis.Redis.from_url(BROKER_URL).delete("celery")


# --- The world the bench works on ---------------------------------------------------------


class QueryCounter:
    """connection.execute_wrapper hook counting every statement sent to the database."""

    def __init__(self):
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


def seed(today: datetime.date):
    """Customers, couriers with today's routes, and PARCELS valuable orders to ship."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password

    from couriers.models import Courier, Route
    from orders.models import Order, OrderItem, Shipment

    user_model = get_user_model()
    nobody_signs_in = make_password(None)  # the bench signs people in by session only
    ops = user_model.objects.create(
        username="bench-ops", is_staff=True, is_superuser=True, password=nobody_signs_in
    )
    customers = user_model.objects.bulk_create(
        user_model(
            username=f"bench-customer-{number}",
            email=f"customer{number}@bench.test",
            password=nobody_signs_in,
        )
        for number in range(CUSTOMERS)
    )
    courier_users = user_model.objects.bulk_create(
        user_model(username=f"bench-courier-{number}", password=nobody_signs_in)
        for number in range(COURIERS)
    )
    couriers = Courier.objects.bulk_create(Courier(user=user) for user in courier_users)
    routes = Route.objects.bulk_create(Route(courier=courier, day=today) for courier in couriers)
    orders = Order.objects.bulk_create(
        Order(
            number=f"B{number:08d}",
            customer=customers[number % CUSTOMERS],
            email=customers[number % CUSTOMERS].email,
            delivery_address=f"Via del Corso {number}\n00186 Roma RM",
        )
        for number in range(PARCELS + PROFILED)
    )
    OrderItem.objects.bulk_create(
        OrderItem(order=order, name="Camera", unit_price="500.00") for order in orders
    )
    Shipment.objects.bulk_create(Shipment(order=order) for order in orders)
    return ops, customers, couriers, routes


def ship_all(*, ops, today: datetime.date) -> dict:
    """What the admin's Mark as shipped does, for every parcel at once (one transaction,
    the emails queued after the commit): the figure that is timed."""
    from django.db import connection

    from handoff.services import shipments_mark_shipped
    from orders.models import Shipment

    ids = list(
        Shipment.objects.filter(status=Shipment.Status.PROCESSING)
        .order_by("pk")
        .values_list("pk", flat=True)[:PARCELS]
    )
    counter = QueryCounter()
    start = time.perf_counter()
    with connection.execute_wrapper(counter):
        result = shipments_mark_shipped(
            shipments=Shipment.objects.filter(pk__in=ids), actor=ops, delivery_day=today
        )
    seconds = time.perf_counter() - start
    return {"parcels": len(result.shipped), "seconds": seconds, "queries": counter.count}


# Where time goes: functions whose cumulative time makes each bucket. Buckets overlap
# (the session's queries are SQL too); each is a share of the same total.
SQL = ("psycopg/cursor.py", "execute")
COMMIT = ("psycopg/connection.py", "commit")
BUCKETS = {
    "SQL statements": [SQL],
    "commits": [COMMIT],
    "session+auth": [("django/contrib/auth/__init__.py", "get_user")],
    "templates": [("django/template/backends/django.py", "render")],
    "Fernet+HMAC": [
        ("codes/tokens.py", "encrypt"),
        ("codes/tokens.py", "decrypt"),
        ("codes/tokens.py", "code_hash"),
    ],
    "Celery publish": [("celery/app/task.py", "apply_async")],
}


def profiled(name: str, work) -> dict:
    """Run `work()` under cProfile, counting queries; the time per bucket, in seconds.
    The whole profile is kept in bench/results/<name>.prof.tmp for pstats or snakeviz."""
    import cProfile
    import pstats

    from django.db import connection

    counter = QueryCounter()
    profiler = cProfile.Profile()
    with connection.execute_wrapper(counter):
        start = time.perf_counter()
        profiler.enable()
        work()
        profiler.disable()
        total = time.perf_counter() - start
    slug = re.sub(r"[^a-z]+", "-", name.lower()).strip("-")
    profiler.dump_stats(RESULTS_DIR / f"{slug}.prof.tmp")
    stats = pstats.Stats(profiler).stats
    buckets = {}
    for bucket, functions in BUCKETS.items():
        buckets[bucket] = sum(
            cumulative
            for (filename, _line, function), (_cc, _nc, _tt, cumulative, _callers) in stats.items()
            if any(filename.endswith(suffix) and function == name for suffix, name in functions)
        )
    # Everything else: Python in Django and the app (middleware, URL routing, forms, the
    # ORM building queries, …); session+auth overlaps the SQL bucket, so it is left out.
    buckets["the rest (Python)"] = total - sum(
        seconds for bucket, seconds in buckets.items() if bucket != "session+auth"
    )
    return {"total": total, "queries": counter.count, "buckets": buckets}


def describe_profile(name: str, profile: dict, count: int) -> str:
    per = 1000 / count
    shares = ", ".join(
        f"{bucket} {seconds * per:.1f} ms ({seconds / profile['total']:.0%})"
        for bucket, seconds in profile["buckets"].items()
        if seconds / profile["total"] >= 0.01
    )
    return (
        f"  {name:<24} {profile['total'] * per:6.1f} ms each,"
        f" {profile['queries'] / count:4.1f} queries; {shares}"
    )


def profile_shipping(*, ops, today: datetime.date) -> dict:
    from handoff.services import shipments_mark_shipped
    from orders.models import Shipment

    shipments = Shipment.objects.filter(status=Shipment.Status.PROCESSING)
    count = shipments.count()

    def work():
        shipments_mark_shipped(shipments=shipments, actor=ops, delivery_day=today)

    return profiled("shipping", work) | {"count": count}


def send_out_for_delivery(*, ops, routes) -> None:
    """Put every shipped parcel on a route today. Set-based: this is set-up, not measured."""
    from django.utils import timezone

    from couriers.models import Stop
    from orders.models import Shipment, TrackingEvent

    now = timezone.now()
    ids = list(
        Shipment.objects.filter(status=Shipment.Status.SHIPPED)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    Shipment.objects.filter(pk__in=ids).update(status=Shipment.Status.OUT_FOR_DELIVERY)
    TrackingEvent.objects.bulk_create(
        TrackingEvent(
            shipment_id=pk, status=Shipment.Status.OUT_FOR_DELIVERY, actor=ops, created_at=now
        )
        for pk in ids
    )
    Stop.objects.bulk_create(
        Stop(
            route=routes[index % COURIERS],
            day=routes[index % COURIERS].day,
            shipment_id=pk,
            position=index // COURIERS + 1,
        )
        for index, pk in enumerate(ids)
    )


def parcels_with_codes() -> list[dict]:
    """Each parcel out for delivery: its tracking number, customer, courier, plain code."""
    from codes import tokens
    from codes.models import DeliveryCode

    rows = (
        DeliveryCode.objects.filter(status=DeliveryCode.Status.ACTIVE)
        .order_by("shipment_id")
        .values_list(
            "shipment__tracking_number",
            "shipment__order__customer_id",
            "shipment__stops__route__courier__user_id",
            "code_encrypted",
        )
    )
    return [
        {
            "tracking_number": tracking_number,
            "customer_id": customer_id,
            "courier_user_id": courier_user_id,
            "code": tokens.decrypt(encrypted),
        }
        for tracking_number, customer_id, courier_user_id, encrypted in rows
    ]


def session_cookies(users) -> dict[int, str]:
    """A real signed-in session per person, made as Django's test client makes one."""
    from django.conf import settings
    from django.test import Client

    cookies = {}
    for user in users:
        client = Client()
        client.force_login(user)
        cookies[user.pk] = (
            f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
        )
    return cookies


# --- The server and the load --------------------------------------------------------------


def http_get(path: str, cookie: str) -> tuple[int, dict[str, str], str]:
    connection = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
    connection.request("GET", path, headers={"Cookie": cookie})
    response = connection.getresponse()
    body = response.read().decode()
    cookies = {}
    for name, value in response.getheaders():
        if name.lower() == "set-cookie":
            cookie_name, _, rest = value.partition("=")
            cookies[cookie_name] = rest.split(";", 1)[0]
    connection.close()
    return response.status, cookies, body


def with_csrf(cookie: str, stop_path: str) -> tuple[str, str]:
    """Load a stop page as the courier's browser would: its cookies and the form's token."""
    from django.conf import settings

    status, cookies, body = http_get(stop_path, cookie)
    if status != 200:
        sys.exit(f"bench: {stop_path} answered {status}, expected the code entry form")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', body).group(1)
    extra = cookies.get(settings.CSRF_COOKIE_NAME)
    full_cookie = f"{cookie}; {settings.CSRF_COOKIE_NAME}={extra}" if extra else cookie
    return full_cookie, token


def start_server(log_path: Path) -> subprocess.Popen:
    log = log_path.open("w")
    server = subprocess.Popen(
        [str(BIN / "gunicorn"), "--config", "gunicorn.conf.py"],
        cwd=BASE_DIR,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if http_get("/healthz", "")[0] == 200:
                return server
        except OSError:
            pass
        if server.poll() is not None:
            sys.exit(f"bench: gunicorn exited; see {log_path}")
        time.sleep(0.5)
    stop_server(server)
    sys.exit(f"bench: gunicorn did not answer /healthz within 60 s; see {log_path}")


def stop_server(server: subprocess.Popen) -> None:
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def load(name: str, lines: list[str], seconds: int = SECONDS) -> dict:
    slug = re.sub(r"[^a-z]+", "-", name.lower()).strip("-")
    requests_file = RESULTS_DIR / f"{slug}.requests.tmp"
    requests_file.write_text("\n".join(lines) + "\n")
    try:
        result = subprocess.run(
            [
                "wrk",
                f"--threads={THREADS}",
                f"--connections={CONNECTIONS}",
                f"--duration={seconds}s",
                "--timeout=10s",
                f"--script={BASE_DIR / 'bench' / 'replay.lua'}",
                f"http://127.0.0.1:{PORT}",
            ],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "BENCH_REQUESTS": str(requests_file), "BENCH_THREADS": "2"},
        )
    finally:
        # It holds plain codes of bench parcels: gone as soon as wrk has read it.
        requests_file.unlink()
    match = re.search(r"^BENCH_JSON (.*)$", result.stdout, re.MULTILINE)
    if match is None:
        sys.exit(f"bench: no figures from wrk for {name}:\n{result.stdout}\n{result.stderr}")
    figures = json.loads(match.group(1))
    figures["rps"] = figures["requests"] / figures["seconds"]
    return figures


def entry_outcomes_since(moment) -> dict[str, int]:
    from django.db.models import Count

    from codes.models import CodeEntry

    return dict(
        CodeEntry.objects.filter(created_at__gte=moment)
        .values_list("outcome")
        .annotate(count=Count("pk"))
        .order_by()
    )


def describe(name: str, figures: dict) -> str:
    statuses = ", ".join(f"{code}: {count}" for code, count in sorted(figures["statuses"].items()))
    wrapped = f", list wrapped {figures['wrapped']}×" if figures["wrapped"] else ""
    errors = f", socket errors {figures['socket_errors']}" if figures["socket_errors"] else ""
    return (
        f"  {name:<24} {figures['rps']:8.1f} req/s   p50 {figures['p50_ms']:7.2f} ms"
        f"   p99 {figures['p99_ms']:7.2f} ms   ({figures['requests']} requests;"
        f" HTTP {statuses}{wrapped}{errors})"
    )


def verdict(ok: bool) -> str:
    return "target met" if ok else "TARGET MISSED"


def bench_http(*, parcels: list[dict], customers, couriers) -> None:
    from django.urls import reverse
    from django.utils import timezone

    load_before = " ".join(f"{value:.2f}" for value in os.getloadavg())
    step("signing in customers and couriers")
    customer_cookies = session_cookies(customers)
    courier_cookies = session_cookies([courier.user for courier in couriers])

    log_path = RESULTS_DIR / "gunicorn.log.tmp"
    step(f"starting gunicorn on 127.0.0.1:{PORT} (log: {log_path})")
    server = start_server(log_path)
    try:
        step("loading each courier's code entry form once for its CSRF token")
        csrf = {}
        for parcel in parcels[: COURIERS * 2]:
            user_id = parcel["courier_user_id"]
            if user_id not in csrf:
                path = reverse("courier_stop", args=[parcel["tracking_number"]])
                csrf[user_id] = with_csrf(courier_cookies[user_id], path)

        pools = parcel_pools(parcels)

        baseline_lines = [
            f"GET\t{reverse('bench_baseline')}\t{cookie}"
            for pair in zip(
                list(customer_cookies.values())[:COURIERS], courier_cookies.values(), strict=False
            )
            for cookie in pair
        ]
        tracking_lines = [
            f"GET\t{reverse('track', args=[parcel['tracking_number']])}\t"
            f"{customer_cookies[parcel['customer_id']]}"
            for parcel in pools["other"]
        ]
        # The courier's browser has its CSRF cookie from the first stop it opened.
        stop_lines = [
            f"GET\t{reverse('courier_stop', args=[parcel['tracking_number']])}\t"
            f"{csrf[parcel['courier_user_id']][0]}"
            for parcel in pools["other"]
        ]

        def entry_line(parcel, code):
            cookie, token = csrf[parcel["courier_user_id"]]
            path = reverse("courier_stop", args=[parcel["tracking_number"]])
            return f"POST\t{path}\t{cookie}\tcsrfmiddlewaretoken={token}&code={code}"

        def wrong_code(parcel):
            return f"{(int(parcel['code']) + 1) % 1_000_000:06d}"

        wrong_lines = [entry_line(parcel, wrong_code(parcel)) for parcel in pools["other"]]
        correct_lines = [entry_line(parcel, parcel["code"]) for parcel in pools["correct"]]
        floor_lines = entry_floor_lines(pools["other"], customer_cookies)

        results = {}
        outcomes = {}
        for name, lines in [
            ("baseline (first)", baseline_lines),
            ("tracking page", tracking_lines),
            ("courier's stop page", stop_lines),
            ("code entry, wrong code", wrong_lines),
            ("code entry, right code", correct_lines),
            (ENTRY_FLOOR, floor_lines),
            ("baseline (last)", baseline_lines),
        ]:
            # Each scenario warms up on its last tenth of lines, then is timed on the rest
            # (no line sent twice): a worker's first request of a kind loads what it needs,
            # such as the broker's client library and connection for the first wrong
            # code's email (seconds per worker on a busy machine).
            cut = len(lines) * 9 // 10
            step(f"{name}: warming up {WARMUP_SECONDS} s")
            load(f"{name} (warm-up)", lines[cut:], seconds=WARMUP_SECONDS)
            step(f"{name}: {SECONDS} s under {CONNECTIONS} connections")
            # Let the requests still in flight from the warm-up finish first.
            time.sleep(2)
            started = timezone.now()
            results[name] = load(name, lines[:cut])
            if name.startswith("code entry"):
                outcomes[name] = entry_outcomes_since(started)

        browser = None
        if (missing := bench_browser.available()) is None:
            step("the courier on a slow network, in Chromium")
            courier_user = pools["browser"][0]["courier_user_id"]
            browser = bench_browser.measure(
                base_url=f"http://127.0.0.1:{PORT}",
                cookie=csrf[courier_user][0],
                runs=[
                    {
                        "cold_path": reverse("courier_stop", args=[cold["tracking_number"]]),
                        "warm_path": reverse("courier_stop", args=[warm["tracking_number"]]),
                        "code": warm["code"],
                    }
                    for cold, warm in itertools.batched(pools["browser"], 2, strict=True)
                ],
            )
    finally:
        stop_server(server)

    step(f"profiling {PROFILED} requests of each kind through the WSGI handler")
    profiles = wsgi_profile.profile_requests(
        {
            "baseline": baseline_lines[: PROFILED + PROFILE_WARMUP],
            "tracking": tracking_lines[: PROFILED + PROFILE_WARMUP],
            "stop page": stop_lines[: PROFILED + PROFILE_WARMUP],
            "wrong code (first)": [
                entry_line(parcel, wrong_code(parcel)) for parcel in pools["profile wrong"]
            ],
            "right code": [entry_line(parcel, parcel["code"]) for parcel in pools["profile right"]],
        },
        port=PORT,
        warmup=PROFILE_WARMUP,
    )

    baseline = (results["baseline (first)"]["rps"] + results["baseline (last)"]["rps"]) / 2
    say(
        f"HTTP: gunicorn ({_workers()} sync workers) with production settings;"
        f" wrk, {THREADS} threads, {CONNECTIONS} connections, {SECONDS} s per scenario;"
        f" load average before (1, 5, 15 min): {load_before}"
    )
    for name, figures in results.items():
        say(describe(name, figures))
    say(f"  baseline = mean of first and last: {baseline:.1f} req/s")
    for name, target in PAGE_TARGETS.items():
        ratio = results[name]["rps"] / baseline
        say(
            f"  {name:<24} {ratio:5.2f}× baseline throughput"
            f" (target ≥ {target}×: {verdict(ratio >= target)})"
        )
    floor = results[ENTRY_FLOOR]["rps"] / baseline
    say(
        f"  {ENTRY_FLOOR:<24} {floor:5.2f}× baseline throughput (no target: the least a"
        " code entry can cost here, its statements with no rule, form or page)"
    )
    for name, counts in outcomes.items():
        described = ", ".join(f"{outcome} {count}" for outcome, count in sorted(counts.items()))
        say(f"  audit rows written during '{name}': {described}")
    say()
    say(
        f"Where the CPU goes: {PROFILED} requests of each kind, in this process through"
        " Django's WSGI handler (connection check and CSRF check included, no profiler:"
        " each component's entry points charge the thread's CPU time to the innermost"
        " component; PostgreSQL's share is its backend process's CPU time)."
        " The first wrong code of a parcel also asks for the customer's alert email: its"
        " row is written in the request, its Celery publish runs on a background thread"
        " after the response (not in the request's figures)."
    )
    for line in wsgi_profile.table(profiles):
        say(line)
    say()
    if browser is None:
        say(f"Courier on a slow network: not measured ({missing})")
    else:
        for line in bench_browser.describe(browser, runs=BROWSER_RUNS):
            say(line)


# The code entry's statements alone (otpdelivery.views.bench_entry_floor): a yardstick for
# how much of a code entry's cost is the statements any implementation must send.
ENTRY_FLOOR = "entry statements alone"


def entry_floor_lines(parcels: list[dict], customer_cookies: dict[int, str]) -> list[str]:
    """POSTs of the entry floor page, each by a customer with their own CSRF token (read
    from their tracking page, as their browser would)."""
    from django.urls import reverse

    csrf = {}
    for parcel in parcels:
        customer = parcel["customer_id"]
        if customer not in csrf:
            track = reverse("track", args=[parcel["tracking_number"]])
            csrf[customer] = with_csrf(customer_cookies[customer], track)
    return [
        f"POST\t{reverse('bench_entry_floor')}\t{cookie}\tcsrfmiddlewaretoken={token}"
        for cookie, token in csrf.values()
    ]


def parcel_pools(parcels: list[dict]) -> dict[str, list[dict]]:
    """Who gets which parcel: each right code is entered once, and the first wrong code of
    a parcel (which queues an alert email) is profiled on parcels no one has touched."""
    profiled = PROFILED + PROFILE_WARMUP
    correct = parcels[:CORRECT_POOL]
    first_courier = correct[0]["courier_user_id"]
    browser = [p for p in correct if p["courier_user_id"] == first_courier][: 2 * BROWSER_RUNS]
    correct = [p for p in correct if p not in browser]
    return {
        "browser": browser,
        "correct": correct[:-profiled],
        "profile right": correct[-profiled:],
        "other": parcels[CORRECT_POOL:-profiled],
        "profile wrong": parcels[-profiled:],
    }


def _workers() -> int:
    import multiprocessing

    return int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))


# --- The day-end sweep ----------------------------------------------------------------------


def _copy_rows(model, *, template_pk: int, source: str, overrides: dict[str, str]) -> int:
    """INSERT copies of one row (made through the ORM, so every column is right) for
    each row of `source`, with some columns computed: set-based, seconds for a million."""
    from django.db import connection

    quote = connection.ops.quote_name
    columns = [field.column for field in model._meta.concrete_fields if not field.primary_key]
    values = [overrides.get(column, f"template.{quote(column)}") for column in columns]
    table = quote(model._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({', '.join(quote(column) for column in columns)}) "  # noqa: S608
            f"SELECT {', '.join(values)} FROM {table} AS template CROSS JOIN {source} "
            f"WHERE template.{quote(model._meta.pk.column)} = %s",
            [template_pk],
        )
        return cursor.rowcount


def make_sweep_codes(*, ops, count: int) -> tuple[int, int]:
    """`count` active codes whose validity has ended, on shipped parcels due today, so that
    the sweep has only codes to expire, like the raw UPDATE: a parcel whose own day had
    ended would also be given a new day and a new code (rule 8), which is other work, and
    whose new active code would clash with the old one made active again for the next run.
    Returns the id range."""
    from django.db import connection
    from django.utils import timezone

    from codes import tokens
    from codes.models import DeliveryCode
    from orders.days import local_today
    from orders.models import Order, Shipment

    now = timezone.now()
    yesterday = now - datetime.timedelta(days=1)
    order = Order.objects.create(
        number="SWEEP0001", customer=ops, email="sweep@bench.test", delivery_address="-"
    )
    template_shipment = Shipment.objects.create(
        order=order,
        tracking_number="SW0000000000",
        status=Shipment.Status.SHIPPED,
        requires_code=True,
        delivery_day=local_today(now),
        shipped_at=yesterday,
    )
    copies = _copy_rows(
        Shipment,
        template_pk=template_shipment.pk,
        source=f"generate_series(1, {count - 1}) AS n",
        overrides={"tracking_number": "'SW' || lpad(n::text, 10, '0')"},
    )
    template_code = DeliveryCode.objects.create(
        shipment=template_shipment,
        code_hash=tokens.code_hash("135792"),
        code_encrypted=tokens.encrypt("135792"),
        delivery_day=yesterday.date(),
        valid_until=now - datetime.timedelta(hours=1),
        issued_at=yesterday,
    )
    shipment_table = connection.ops.quote_name(Shipment._meta.db_table)
    _copy_rows(
        DeliveryCode,
        template_pk=template_code.pk,
        source=f"(SELECT id FROM {shipment_table} WHERE tracking_number LIKE 'SW%%'"
        f" AND id <> {template_shipment.pk}) AS parcel",
        overrides={"shipment_id": "parcel.id"},
    )
    if copies != count - 1:
        sys.exit(f"bench: made {copies + 1} parcels for the sweep, not {count}")
    last = DeliveryCode.objects.order_by("-pk").values_list("pk", flat=True).first()
    return template_code.pk, last


def set_sweep_codes(*, first: int, last: int, active_until: int) -> None:
    """Codes first..active_until active again, the rest of the range expired; then VACUUM
    FULL, so each timed run starts from the same compact table and indexes (a plain VACUUM
    leaves them bloated by the last million updates, and each later run slower)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE codes_deliverycode SET status = CASE WHEN id <= %s THEN 'active'"
            " ELSE 'expired' END WHERE id BETWEEN %s AND %s",
            [active_until, first, last],
        )
        cursor.execute("VACUUM FULL ANALYZE codes_deliverycode")


def run_sweep(variant: str) -> dict:
    result = subprocess.run(
        [sys.executable, str(BASE_DIR / "bench" / "sweep.py"), variant],
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def bench_sweep(*, ops) -> None:
    small = SWEEP_CODES // 10
    step(f"making {SWEEP_CODES:,} codes whose day has ended")
    started = time.perf_counter()
    first, last = make_sweep_codes(ops=ops, count=SWEEP_CODES)
    step(f"made them in {time.perf_counter() - started:.0f} s")

    set_sweep_codes(first=first, last=last, active_until=first + small - 1)
    step(f"sweep over {small:,} codes (for memory)")
    sweep_small = run_sweep("sweep")
    # The sweep between two raw UPDATEs, each on the same rows made active again and the
    # table rewritten, so that drift during the run (a shared machine) shows and evens out.
    runs = {}
    for label, variant in [("raw (first)", "raw"), ("sweep", "sweep"), ("raw (last)", "raw")]:
        set_sweep_codes(first=first, last=last, active_until=last)
        step(f"{label} over {SWEEP_CODES:,} codes")
        runs[label] = run_sweep(variant)
    sweep = runs["sweep"]
    raw_seconds = (runs["raw (first)"]["seconds"] + runs["raw (last)"]["seconds"]) / 2

    ratio = sweep["seconds"] / raw_seconds
    growth_small = sweep_small["rss_peak_mb"] - sweep_small["rss_before_mb"]
    growth = sweep["rss_peak_mb"] - sweep["rss_before_mb"]
    say(f"Day-end sweep (handoff.services.shipments_day_end), {SWEEP_CODES:,} ended codes:")
    for label, run in runs.items():
        say(f"  {label:<18} {run['seconds']:7.2f} s   ({run['rows']:,} rows)")
    say(
        f"  ratio {ratio:.2f}× the raw UPDATE (mean of first and last, {raw_seconds:.2f} s)"
        f" (target ≤ {TARGET_SWEEP_RATIO}×: {verdict(ratio <= TARGET_SWEEP_RATIO)})"
    )
    say(
        f"  sweep process peak memory (ru_maxrss): {sweep_small['rss_peak_mb']:.1f} MB over"
        f" {small:,} codes (+{growth_small:.1f} MB during the sweep),"
        f" {sweep['rss_peak_mb']:.1f} MB over {SWEEP_CODES:,} (+{growth:.1f} MB)"
    )


# --- The whole run ------------------------------------------------------------------------


def main() -> None:
    started = time.perf_counter()
    os.environ.update(bench_environment())
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    ensure_wrk()
    step(f"making database {urlsplit(DATABASE_URL).path.lstrip('/')} anew")
    reset_database()
    manage("migrate", "--noinput")
    manage("collectstatic", "--noinput")

    import django

    django.setup()
    from django.utils import timezone

    from orders.days import local_today

    when = datetime.datetime.now(datetime.UTC)
    say(f"otpdelivery benchmark, {when:%Y-%m-%d %H:%M} UTC, on {socket.gethostname()}")
    for line in machine_facts():
        say(line)
    from django.conf import settings

    binding = settings.DATABASES["default"].get("OPTIONS", {}).get("server_side_binding", False)
    say(
        "bench settings: DEBUG off, whitenoise manifest storage, DATABASE_CONN_MAX_AGE=60,"
        f" server-side binding {'on' if binding else 'off'},"
        " gunicorn workers never recycled (GUNICORN_MAX_REQUESTS=0),"
        " JSON logs; limits raised so that wrong codes are not refused: "
        + ", ".join(f"{name}={value}" for name, value in RAISED_LIMITS.items())
    )
    say()

    today = local_today(timezone.now())
    step(f"seeding {PARCELS:,} valuable orders, {CUSTOMERS} customers, {COURIERS} couriers")
    ops, customers, couriers, routes = seed(today)
    purge_queue()
    step(f"shipping {PARCELS:,} parcels (timed)")
    shipped = ship_all(ops=ops, today=today)
    queued = queued_tasks()
    purge_queue()
    say(
        f"Shipping {shipped['parcels']:,} parcels (shipments_mark_shipped on all at once, as"
        f" the admin action does): {shipped['seconds']:.1f} s,"
        f" {shipped['seconds'] / shipped['parcels'] * 1000:.2f} ms and"
        f" {shipped['queries'] / shipped['parcels']:.1f} queries per parcel,"
        f" {shipped['queries']:,} queries in all; {queued:,} code emails queued in Redis"
    )
    say(
        f"  target < {TARGET_SHIP_SECONDS:.0f} s:"
        f" {verdict(shipped['seconds'] < TARGET_SHIP_SECONDS)}"
    )
    step(f"shipping {PROFILED} more parcels under cProfile")
    shipping_profile = profile_shipping(ops=ops, today=today)
    purge_queue()
    say(f"  where the time goes ({PROFILED} more parcels in one batch under cProfile):")
    say(describe_profile("shipping a parcel", shipping_profile, shipping_profile["count"]))
    say()

    send_out_for_delivery(ops=ops, routes=routes)
    parcels = parcels_with_codes()
    bench_http(parcels=parcels, customers=customers, couriers=couriers)
    purge_queue()
    say()

    bench_sweep(ops=ops)
    say()

    # The retailer API and the webhook sender (bench/retailer_api.py).
    from retailer_api import bench_retailer_api

    bench_retailer_api(
        say=say,
        step=step,
        port=PORT,
        seconds=SECONDS,
        start_server=start_server,
        stop_server=stop_server,
        log=RESULTS_DIR / "gunicorn-api.log.tmp",
        baseline_cookie=session_cookies(customers[:1])[customers[0].pk],
    )
    say()
    load = " ".join(f"{value:.2f}" for value in os.getloadavg())
    say(f"load average at the end (1, 5, 15 min): {load}")
    say(f"bench took {time.perf_counter() - started:.0f} s")

    result_file = RESULTS_DIR / f"{when:%Y-%m-%dT%H%M}-{socket.gethostname()}.txt"
    result_file.write_text("\n".join(report_lines) + "\n")
    print(f"written to {result_file.relative_to(BASE_DIR)}")


if __name__ == "__main__":
    main()
