"""gunicorn's settings for production mode (`make serve`, the Procfile's web process).

Read from the environment like the Django settings; .env fills in what the shell does not.
"""

import multiprocessing
import os
from pathlib import Path

import environ

from otpdelivery import envvars
from otpdelivery.logconfig import logging_config

environ.Env.read_env(Path(__file__).resolve().parent / ".env", overwrite=False)

wsgi_app = "otpdelivery.wsgi:application"
# Behind a load balancer bind to 0.0.0.0:8000 (or a socket) with GUNICORN_BIND.
bind = envvars.items("GUNICORN_BIND", default=["127.0.0.1:8000"])
# Sync workers: the views are short and CPU-bound; each keeps one persistent database
# connection (DATABASE_CONN_MAX_AGE), so PostgreSQL's max_connections must exceed the sum
# of workers over all web machines plus Celery's.
workers = envvars.integer("WEB_CONCURRENCY", default=multiprocessing.cpu_count() * 2 + 1, minimum=1)
timeout = envvars.integer("GUNICORN_TIMEOUT", default=30, minimum=1)
graceful_timeout = timeout
keepalive = 5
# Recycle workers now and then so that a slow leak never takes a process down.
max_requests = envvars.integer("GUNICORN_MAX_REQUESTS", default=2000)
max_requests_jitter = max_requests // 10
# The proxy in front sets X-Forwarded-For/-Proto; only trust it from these addresses.
# gunicorn takes this one as a comma-separated string, not a list (gunicorn 27 refuses a
# list and does not start); items are trimmed first. `bind` is the one list it accepts.
forwarded_allow_ips = ",".join(envvars.items("FORWARDED_ALLOW_IPS", default=["127.0.0.1"]))

# No control socket (gunicorn 25.1+ opens one at ~/.gunicorn/gunicorn.ctl by default): we do
# not use gunicornc, and two instances on one host (`make serve` beside `make bench`) would
# share the one path, the second taking the first's over.
control_socket_disable = True

accesslog = "-"
# The client address, request line (no query string: none of our URLs carries a secret,
# but a stray one would), status, size and duration in microseconds.
access_log_format = '%(h)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(D)s'
logconfig_dict = logging_config(
    log_format=envvars.choice("LOG_FORMAT", default="text", choices=["text", "json"]),
    level=envvars.choice(
        "LOG_LEVEL",
        default="INFO",
        choices=["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"],
        case_insensitive=True,
    ),
    gunicorn=True,
)


def child_exit(server, worker):
    """Request metrics in multiprocess mode (see dashboard/metrics.py): a worker that exits
    leaves its counters to be summed, and its live values are dropped."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
