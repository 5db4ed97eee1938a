"""Reads of the task runs, for the metrics endpoint."""

from .models import TaskRun


def last_task_run(*, task: str) -> TaskRun | None:
    return TaskRun.objects.filter(task=task).order_by("-started_at", "-pk").first()
