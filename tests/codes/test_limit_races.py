"""Limits that count rows in a window are exact under load (issue 15, item 3).

The clock runs in these tests (starting at the frozen instant): entries racing for one
person's lock read different times, and a window counted by a time read before the lock
lets more through than the limit. Each test sends 60 requests over 16 sessions, five
times over, on PostgreSQL.
"""

import itertools

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from codes.models import CodeEmail, CodeEntry, EntryBlock
from tests.conftest import FROZEN_NOW, race
from tests.factories import PickupPointFactory, UserFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("postgresql_only")]

Outcome = CodeEntry.Outcome
REQUESTS = 60
SESSIONS = 16
REPETITIONS = 5


@pytest.fixture
def running_clock(time_machine):
    time_machine.move_to(FROZEN_NOW, tick=True)


def _sessions(user):
    clients = []
    for _ in range(SESSIONS):
        client = Client()
        client.force_login(user)
        clients.append(client)
    return clients


def _spread(clients, post):
    """REQUESTS posts spread over the sessions, each session one thread."""
    share = itertools.cycle(range(SESSIONS))
    per_session = [[] for _ in range(SESSIONS)]
    for number in range(REQUESTS):
        per_session[next(share)].append(number)

    def work(session):
        return [post(clients[session], number).status_code for number in per_session[session]]

    results, errors = race(work, SESSIONS)
    assert errors == []
    return [status for statuses in results for status in statuses]


@pytest.mark.usefixtures("running_clock")
@pytest.mark.parametrize("repetition", range(REPETITIONS))
def test_sixty_wrong_codes_over_sixteen_sessions_count_exactly_the_per_person_limit(repetition):
    operator = UserFactory(username=f"counter{repetition}")
    point = PickupPointFactory(name=f"Edicola {repetition}")
    point.operators.add(operator)
    url = reverse("pickup_point", args=[point.pk])

    statuses = _spread(
        _sessions(operator), lambda client, number: client.post(url, {"code": f"{number:06d}"})
    )

    outcomes = list(CodeEntry.objects.filter(user=operator).values_list("outcome", flat=True))
    limit = settings.COURIER_MAX_WRONG_ATTEMPTS
    assert set(statuses) <= {200, 302, 429}
    assert sorted(outcomes) == sorted([Outcome.WRONG] * limit + [Outcome.BLOCKED] * (60 - limit))
    assert EntryBlock.objects.get(user=operator).wrong_entries == limit


@pytest.mark.usefixtures("running_clock")
@pytest.mark.parametrize("repetition", range(REPETITIONS))
def test_sixty_resend_requests_over_sixteen_sessions_send_exactly_the_limit(
    repetition, customer, shipped_for_today
):
    url = reverse("track_resend", args=[shipped_for_today.tracking_number])

    _spread(_sessions(customer), lambda client, number: client.post(url))

    resent = CodeEmail.objects.filter(purpose=CodeEmail.Purpose.RESENT).count()
    assert resent == settings.CODE_RESEND_MAX_PER_HOUR
