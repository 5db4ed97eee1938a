"""Celery entry points for codes. They take ids only: a code never sits in Redis or logs,
and each is safe to run twice."""

import smtplib
import socket

from celery import Task, shared_task
from django.db import InterfaceError, OperationalError
from django.utils import timezone

from . import notifications

# Worth another try later: the mail server, the network or the database is down or slow.
# (A database error after the send means the email may go out twice: at least once wins.)
TRANSIENT_SEND_ERRORS = (
    smtplib.SMTPException,
    ConnectionError,
    TimeoutError,
    socket.gaierror,
    OperationalError,
    InterfaceError,
)
# The server refused the address itself: retrying cannot help.
PERMANENT_SEND_ERRORS = (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused)


class CodeEmailTask(Task):
    def on_failure(self, exc, task_id, args, kwargs, einfo):
        # Out of retries, or a permanent refusal: mark it so it is not queued again.
        code_email_id = kwargs.get("code_email_id", args[0] if args else None)
        if code_email_id is not None:
            notifications.code_email_give_up(code_email_id=code_email_id)


@shared_task(
    base=CodeEmailTask,
    autoretry_for=TRANSIENT_SEND_ERRORS,
    dont_autoretry_for=PERMANENT_SEND_ERRORS,
    retry_backoff=True,
    retry_backoff_max=600,
    retry_jitter=True,
    max_retries=8,
)
def send_code_email(code_email_id: int) -> bool:
    """Send one customer email about a code, unless it already went out."""
    return notifications.code_email_send(code_email_id=code_email_id)


@shared_task
def queue_unsent_code_emails() -> int:
    """Queue again the emails whose task never reached a worker (broker down at the time)."""
    ids = notifications.unsent_code_email_ids(now=timezone.now())
    return notifications.code_emails_queue(code_email_ids=ids)
