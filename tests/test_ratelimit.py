"""Emails sent because someone asked are rate-limited (issue 15, item 4)."""

import datetime

import pytest
from django.conf import settings
from django.core import mail
from django.urls import reverse

from otpdelivery.ratelimit import Limit, ratelimit_take
from ratelimits.models import RateLimitBucket
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

HOUR = datetime.timedelta(hours=1)


def _ask_reset(client, email, address="192.0.2.10"):
    return client.post(reverse("password_reset"), {"email": email}, REMOTE_ADDR=address)


def test_twenty_password_reset_requests_send_at_most_the_limit(client, customer):
    statuses = [_ask_reset(client, customer.email).status_code for _ in range(20)]

    assert len(mail.outbox) == settings.PASSWORD_RESET_MAX_PER_RECIPIENT_PER_HOUR
    assert statuses.count(429) == 20 - settings.PASSWORD_RESET_MAX_PER_RECIPIENT_PER_HOUR


def test_the_limit_per_recipient_holds_whichever_address_asks(client, customer):
    for number in range(20):
        _ask_reset(client, customer.email, address=f"192.0.2.{number + 1}")

    assert len(mail.outbox) == settings.PASSWORD_RESET_MAX_PER_RECIPIENT_PER_HOUR


def test_one_address_asking_for_many_people_is_limited_too(client):
    people = [UserFactory(username=f"person{n}") for n in range(15)]

    for person in people:
        _ask_reset(client, person.email)

    assert len(mail.outbox) == settings.PASSWORD_RESET_MAX_PER_REQUESTER_PER_HOUR


def test_a_refused_request_says_why_and_when_to_try_again(client, customer):
    for _ in range(settings.PASSWORD_RESET_MAX_PER_RECIPIENT_PER_HOUR):
        _ask_reset(client, customer.email)

    response = _ask_reset(client, customer.email)

    assert response.status_code == 429
    assert "Too many password-reset emails" in response.content.decode()
    assert "Try again after 11:00" in response.content.decode()


def test_known_and_unknown_addresses_get_the_same_answers(client, customer):
    def answers(email):
        return [_ask_reset(client, email, address="198.51.100.7").status_code for _ in range(5)]

    known = answers(customer.email)
    RateLimitBucket.objects.filter(scope="password_reset:requester").delete()
    unknown = answers("nobody@example.com")

    assert known == unknown == [302, 302, 302, 429, 429]


def test_the_limit_opens_again_in_the_next_window(time_machine):
    limit = Limit("test", "someone@example.com", 1, HOUR)
    assert ratelimit_take(limits=[limit]).allowed
    assert not ratelimit_take(limits=[limit]).allowed

    time_machine.shift(HOUR)

    assert ratelimit_take(limits=[limit]).allowed


def test_a_refusal_by_one_limit_counts_against_no_other():
    full = Limit("full", "a", 0, HOUR)
    other = Limit("other", "b", 1, HOUR)

    assert not ratelimit_take(limits=[full, other]).allowed

    assert ratelimit_take(limits=[other]).allowed


def test_counts_hold_no_address_in_the_clear(client, customer):
    _ask_reset(client, customer.email)

    stored = list(RateLimitBucket.objects.values_list("key_digest", flat=True))
    assert stored
    assert all(customer.email not in key and "192.0.2.10" not in key for key in stored)
