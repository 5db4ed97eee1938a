"""The one day-end task: its steps in order, from one beat entry, safe to run twice."""

import datetime

from django.conf import settings
from django.core.management import call_command

from codes.models import DeliveryCode
from handoff.tasks import day_end
from orders.models import Shipment

from ..conftest import ROME, TODAY

AFTER_MIDNIGHT = datetime.datetime.combine(
    TODAY + datetime.timedelta(days=1), datetime.time(0, 5), tzinfo=ROME
)


def test_one_beat_entry_runs_the_day_end_after_local_midnight():
    tasks = [entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()]
    entry = settings.CELERY_BEAT_SCHEDULE["day-end"]

    assert entry["task"] == "handoff.tasks.day_end"
    assert (entry["schedule"].hour, entry["schedule"].minute) == ({0}, {5})
    assert tasks.count("handoff.tasks.day_end") == 1
    assert settings.CELERY_TIMEZONE == settings.DELIVERY_TIME_ZONE


def test_the_task_expires_the_ended_code_and_reschedules_the_missed_delivery(
    out_for_delivery, time_machine
):
    time_machine.move_to(AFTER_MIDNIGHT, tick=False)

    result = day_end()

    out_for_delivery.refresh_from_db()
    assert result == {"expired": 1, "rescheduled": 1, "missed_drops": 0, "returned": 0}
    assert out_for_delivery.status == Shipment.Status.DELIVERY_FAILED
    assert DeliveryCode.objects.get(shipment=out_for_delivery, status="active").delivery_day == (
        out_for_delivery.delivery_day
    )


def test_a_second_run_changes_nothing(out_for_delivery, time_machine):
    time_machine.move_to(AFTER_MIDNIGHT, tick=False)
    day_end()

    assert day_end() == {"expired": 0, "rescheduled": 0, "missed_drops": 0, "returned": 0}


def test_the_command_runs_the_same_steps(out_for_delivery, time_machine, capsys):
    time_machine.move_to(AFTER_MIDNIGHT, tick=False)

    call_command("day_end")

    assert "1 codes expired, 1 parcels rescheduled, 0 missed drops, 0 parcels returned." in (
        capsys.readouterr().out
    )
