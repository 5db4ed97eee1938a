"""The Celery application; its configuration comes from Django settings (CELERY_*)."""

import os

from celery import Celery
from celery.signals import setup_logging

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "otpdelivery.settings")

app = Celery("otpdelivery")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@setup_logging.connect
def _log_through_django_settings(**kwargs):
    """Keep Django's LOGGING (set up with Django) instead of Celery's own handlers, so the
    worker and beat write lines in the same format (LOG_FORMAT) as the web processes."""
