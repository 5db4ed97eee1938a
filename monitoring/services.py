"""Recording the runs of periodic tasks."""

import datetime
import time
from collections.abc import Callable

from django.db import transaction
from django.utils import timezone

from .models import TaskRun


@transaction.atomic
def task_run_record(
    *, task: str, started_at: datetime.datetime, duration_seconds: float, rows: int
) -> TaskRun:
    return TaskRun.objects.create(
        task=task, started_at=started_at, duration_seconds=duration_seconds, rows=rows
    )


def task_run_timed[T](*, task: str, work: Callable[[], T], rows: Callable[[T], int]) -> T:
    """Run `work`, then record when it started, how long it took and the rows it changed.

    Recorded after the work's own transaction: a run that raised is not recorded, so the
    monitoring alert "no day-end sweep since 26 hours" also fires when every run fails.
    """
    started_at = timezone.now()
    start = time.perf_counter()
    result = work()
    task_run_record(
        task=task,
        started_at=started_at,
        duration_seconds=time.perf_counter() - start,
        rows=rows(result),
    )
    return result
