"""When the periodic tasks last ran, how long they took and how many rows they changed.

The lowest app: it depends on nothing of ours, so any task may record its run here, and
the metrics endpoint can tell a monitoring system that the day-end sweep stopped running.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class TaskRun(models.Model):
    """One finished run of a periodic task."""

    class Task(models.TextChoices):
        DAY_END_SWEEP = "day_end_sweep", _("Day-end sweep")

    task = models.CharField(_("task"), max_length=50, choices=Task.choices)
    started_at = models.DateTimeField(_("started at"))
    duration_seconds = models.FloatField(_("duration (seconds)"))
    rows = models.PositiveIntegerField(_("rows changed"))

    class Meta:
        ordering = ["-started_at", "-pk"]
        verbose_name = _("task run")
        verbose_name_plural = _("task runs")
        indexes = [models.Index(fields=["task", "-started_at"])]

    def __str__(self):
        return f"{self.get_task_display()} {self.started_at:%Y-%m-%d %H:%M}"
