"""The demo history: days of plausible work made through the services, with the clock moved
to each moment, that give the dashboard something to show and leave today untouched."""

import io

import pytest
from django.core.management import call_command
from django.db.models import F

from codes.models import CodeEmail, CodeEntry, ParcelHold
from dashboard import selectors
from dashboard.history import ORDER_PREFIX
from monitoring.models import TaskRun
from orders.models import Shipment, TrackingEvent
from orders.tasks import send_delivered_receipt
from tests.conftest import FROZEN_NOW, TODAY

pytestmark = pytest.mark.django_db

DAYS = 8


@pytest.fixture
def history():
    call_command("seed_demo_history", days=DAYS, stdout=io.StringIO())
    return Shipment.objects.filter(order__number__startswith=ORDER_PREFIX)


def test_history_hands_every_parcel_over_before_today_and_leaves_today_as_it_was(history):
    assert history.count() > 5 * DAYS
    assert set(history.values_list("status", flat=True)) == {Shipment.Status.DELIVERED}
    assert not history.filter(delivered_at__gte=selectors.start_of_day(TODAY)).exists()
    demo = Shipment.objects.filter(order__number__startswith="DEMO-")
    assert demo.filter(status=Shipment.Status.OUT_FOR_DELIVERY).count() == 2
    assert not TrackingEvent.objects.filter(
        shipment__in=history, created_at__gte=selectors.start_of_day(TODAY)
    ).exists()


def test_history_gives_every_chart_and_the_sweep_metric_numbers(history):
    days = selectors.first_attempt_rate(now=FROZEN_NOW)
    entries = selectors.code_entries_per_day(now=FROZEN_NOW)
    weeks = selectors.weekly_events(now=FROZEN_NOW)
    couriers, operators = selectors.wrong_code_ranking(now=FROZEN_NOW)

    assert sum(day.attempted for day in days) > sum(day.first_time for day in days) > 0
    assert {"correct", "wrong"} <= set(entries.counts)
    assert sum(week.locks for week in weeks) >= 1
    assert sum(week.holds for week in weeks) == ParcelHold.objects.count() == 1
    assert sum(week.overrides for week in weeks) >= 1
    assert len(couriers.people) == 4
    assert any(person.is_outlier for person in couriers.people)
    assert operators.people
    # ...and the day-end sweep ran after each midnight, for the metrics
    assert TaskRun.objects.filter(task=TaskRun.Task.DAY_END_SWEEP).count() == DAYS


def test_history_emails_count_as_sent_at_the_time_and_history_is_made_once(history, mailoutbox):
    emails = CodeEmail.objects.filter(code__shipment__in=history)
    assert emails.exists()
    assert not emails.filter(sent_at__isnull=True).exists()
    assert [m for m in mailoutbox if ORDER_PREFIX in m.body] == []
    # The delivered receipts too went out at the time: the worker does not send them now.
    assert not history.exclude(receipt_sent_at=F("delivered_at")).exists()
    assert send_delivered_receipt(history.first().pk) is False
    entries = CodeEntry.objects.count()

    call_command("seed_demo_history", days=DAYS, stdout=io.StringIO())

    assert CodeEntry.objects.count() == entries
