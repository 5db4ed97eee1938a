"""The developer's terminal (issue 11, item 7): what `make run` prints is for a person.

Emails are decoded plain text, nothing warns about parts that are simply off (no broker),
no line repeats at every start, and the log mask hides codes and nothing else.
"""

import io
import logging
import os
import runpy
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.core.mail import EmailMultiAlternatives

from otpdelivery.mail import ReadableConsoleBackend
from otpdelivery.redaction import RedactCodesFilter

BASE_DIR = Path(__file__).resolve().parent.parent


def _record(name: str, message: str, *args) -> logging.LogRecord:
    record = logging.LogRecord(name, logging.INFO, __file__, 1, message, args, None)
    RedactCodesFilter().filter(record)
    return record


# --- The log mask: codes and nothing else -----------------------------------------------------


@pytest.mark.parametrize(
    ("name", "message", "args", "expected"),
    [
        (
            "django.server",
            '"%s" %s %s',
            ("GET /static/img/favicon.svg HTTP/1.1", 200, 123456),
            '"GET /static/img/favicon.svg HTTP/1.1" 200 123456',
        ),
        (
            "django.server",
            '"%s" %s %s',
            ("GET /static/img/favicon.svg HTTP/1.1", 304, 512),
            '"GET /static/img/favicon.svg HTTP/1.1" 304 512',
        ),
        (
            "gunicorn.access",
            '10.0.0.1 "GET /track/OD1/ HTTP/1.1" 200 4096 135792',
            (),
            '10.0.0.1 "GET /track/OD1/ HTTP/1.1" 200 4096 135792',
        ),
        (
            "django.server",
            '"%s" %s %s',
            ("GET /track/OD1/?code=135792 HTTP/1.1", 200, 512),
            '"GET /track/OD1/?code=****** HTTP/1.1" 200 512',
        ),
        (
            "orders",
            "swept at %s",
            ("2026-11-30T00:05:00.123456+01:00",),
            "swept at 2026-11-30T00:05:00.123456+01:00",
        ),
        ("orders", "took 0.135792 s", (), "took 0.135792 s"),
        ("orders", "entered %s.", ("135792",), "entered ******."),
        ("orders", "code=%s&x=1", ("135 792",), "code=******&x=1"),
    ],
)
def test_log_mask_hides_codes_and_nothing_else(name, message, args, expected):
    assert _record(name, message, *args).getMessage() == expected


# --- The console's emails -----------------------------------------------------------------


def _email() -> EmailMultiAlternatives:
    body = (
        "Your delivery code for parcel OD7K2M9P4QXZ – read it to the courier at your door. "
        "Nobody from otpdelivery will ever ask for it by phone, chat or email. " * 2
    )
    email = EmailMultiAlternatives(
        subject="Il tuo codice di consegna – pacco OD7K2M9P4QXZ",
        body=body,
        from_email="otpdelivery <no-reply@otpdelivery.test>",
        to=["alice@example.com"],
    )
    email.attach_alternative(f"<html><body><p>{body}</p></body></html>", "text/html")
    return email


def test_console_email_is_decoded_plain_text():
    stream = io.StringIO()

    ReadableConsoleBackend(stream=stream).send_messages([_email()])

    printed = stream.getvalue()
    assert "Subject: Il tuo codice di consegna – pacco OD7K2M9P4QXZ" in printed
    assert "parcel OD7K2M9P4QXZ – read it to the courier at your door." in printed
    assert "=E2=80=93" not in printed
    assert "=\n" not in printed
    assert "<html>" not in printed
    assert "[text/html version not shown]" in printed


def test_console_is_the_readable_backend_by_default(monkeypatch):
    monkeypatch.setenv("EMAIL_URL", "consolemail://")

    loaded = runpy.run_path(str(BASE_DIR / "otpdelivery" / "settings.py"))

    assert loaded["MAILERS"]["default"]["BACKEND"] == "otpdelivery.mail.ReadableConsoleBackend"


# --- What `make run` prints before the server answers ------------------------------------------


def test_make_run_output_is_readable_and_warns_about_nothing(tmp_path):
    """`make run` migrates, seeds the demo (sending its emails) and starts the server; the
    first two, as a developer runs them with nothing configured, print no warning, no
    repeated start-up line and only readable emails."""
    environment = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("DJANGO", "CELERY", "DATABASE", "EMAIL"))
    }
    environment.update(
        {
            "DJANGO_DEBUG": "true",
            "DJANGO_SECRET_KEY": "development-only-secret-key-for-this-test",
            "DELIVERY_CODE_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
            "DELIVERY_CODE_HASH_KEY": "development-only-hash-key",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
            "CELERY_BROKER_URL": "",
            "EMAIL_URL": "consolemail://",
        }
    )
    output = ""
    for command in (["migrate", "--noinput", "--verbosity", "0"], ["seed_demo"]):
        result = subprocess.run(  # noqa: S603 - our own manage.py with a fixed argument list
            [sys.executable, "manage.py", *command],
            cwd=BASE_DIR,
            env=environment,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        output += result.stdout + result.stderr

    lines = output.splitlines()
    assert [line for line in lines if "WARNING" in line or "Warning" in line] == []
    assert [line for line in lines if "AXES: BEGIN" in line] == []
    assert "Subject: " in output
    assert "=E2=80" not in output
    assert "Content-Transfer-Encoding" not in output
    assert "<html" not in output
