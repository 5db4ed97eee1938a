"""Celery entry points of the hand-over layer: thin, taking no arguments but the clock,
safe to run twice."""

from celery import shared_task
from django.utils import timezone

from monitoring.models import TaskRun
from monitoring.services import task_run_timed

from .services import shipments_day_end


@shared_task
def day_end() -> dict:
    """Beat runs this shortly after local midnight; `manage.py day_end` runs it by hand."""
    result = task_run_timed(
        task=TaskRun.Task.DAY_END_SWEEP,
        work=lambda: shipments_day_end(now=timezone.now()),
        rows=lambda result: result.expired + result.rescheduled,
    )
    return {
        "expired": result.expired,
        "rescheduled": result.rescheduled,
        "missed_drops": result.missed_drops,
        "returned": result.returned,
    }
