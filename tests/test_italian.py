"""Italian that an Italian would not correct (issue 11, item 4), and pickup deadlines a
customer can keep (item 8).

Every page of every role, the admin's lists and forms, and every email are rendered in
Italian from the demo, and their visible text is checked: no weekday or month capitalised
mid-sentence, no article before a weekday, 24-hour times, no English label left.
"""

import datetime
import re
from html.parser import HTMLParser

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.urls import reverse
from django.utils import translation

from codes.models import CodeEmail
from codes.notifications import build_message
from couriers.models import PickupPoint
from orders.models import Order, Shipment
from otpdelivery import opening_hours
from tests.conftest import TODAY, make_parcel_at

pytestmark = pytest.mark.django_db

WEEKDAYS = ["lunedì", "martedì", "mercoledì", "giovedì", "venerdì", "sabato", "domenica"]
MONTHS = [
    "gennaio",
    "febbraio",
    "marzo",
    "aprile",
    "maggio",
    "giugno",
    "luglio",
    "agosto",
    "settembre",
    "ottobre",
    "novembre",
    "dicembre",
]
NAMES = "|".join(name.capitalize() for name in WEEKDAYS + MONTHS)
# A capitalised weekday or month after a lower-case word, a digit or a comma.
CAPITALISED_MID_SENTENCE = re.compile(rf"[a-zà-ù0-9,;] ({NAMES})\b")
ARTICLE_BEFORE_WEEKDAY = re.compile(rf"\b(il|lo|la) ({'|'.join(WEEKDAYS)})\b", re.IGNORECASE)
TWELVE_HOUR = re.compile(r"\b\d{1,2}(:\d\d)? ?(AM|PM|am|pm|a\.m\.|p\.m\.)")
# English that was seen on Italian pages, and its relatives.
ENGLISH = re.compile(
    r"\b(Search|Run|Select an option|Model name|Add link|Filter by|Pagination|Order|"
    r"Shipment|Pickup point|Customer|Courier|User|Given up|Attempt Time|Locked Out|"
    r"Valid until|Collect it by|Delivered|Today|Tomorrow|"
    r"Mon|Tue|Wed|Thu|Fri|Sat|Sun|Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday|"
    r"January|February|March|April|June|July|August|September|October|November|December)\b"
)


class VisibleText(HTMLParser):
    """The text a person reads: text nodes and labelling attributes, not scripts or values."""

    def __init__(self):
        super().__init__()
        self.hidden = 0
        self.texts = []

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self.hidden += 1
        self.texts += [
            value for name, value in attrs if name in ("title", "aria-label", "alt") and value
        ]

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self.hidden -= 1

    def handle_data(self, data):
        if not self.hidden and data.strip():
            self.texts.append(" ".join(data.split()))


def _visible(html: str) -> list[str]:
    parser = VisibleText()
    parser.feed(html)
    return parser.texts


def _faults(where: str, texts: list[str], *, data: tuple = ()) -> list[str]:
    faults = []
    for text in texts:
        checked = text
        for value in data:  # names people gave things: not ours to translate
            checked = checked.replace(value, "")
        for rule in (CAPITALISED_MID_SENTENCE, ARTICLE_BEFORE_WEEKDAY, TWELVE_HOUR, ENGLISH):
            match = rule.search(checked)
            if match:
                faults.append(f"{where}: {match.group(0)!r} in {text[:120]!r}")
    return faults


# What the demo's people named things: product names and the like stay as written.
DEMO_DATA = ("Smartphone", "Phone case", "Headphones", "Laptop", "Watch", "Demo Shop")


@pytest.fixture
def demo_in_italian(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo", stdout=None)
    Order.objects.update(language="it")


def _as(client, username):
    client.force_login(get_user_model().objects.get(username=username))
    client.cookies["django_language"] = "it"
    return client


def _page_faults(client, url) -> list[str]:
    response = client.get(url, HTTP_ACCEPT_LANGUAGE="it")
    assert response.status_code == 200, url
    return _faults(url, _visible(response.content.decode()), data=DEMO_DATA)


def test_customer_pages_read_as_italian(client, demo_in_italian):
    faults = []
    for username in ("alice", "bruno"):
        _as(client, username)
        faults += _page_faults(client, reverse("order_list"))
        for shipment in Shipment.objects.filter(order__customer__username=username):
            faults += _page_faults(client, reverse("track", args=[shipment.tracking_number]))

    assert faults == []


def test_courier_and_pickup_point_pages_read_as_italian(client, demo_in_italian):
    _as(client, "marco")
    faults = _page_faults(client, reverse("courier_today"))
    for shipment in Shipment.objects.filter(status=Shipment.Status.OUT_FOR_DELIVERY):
        faults += _page_faults(client, reverse("courier_stop", args=[shipment.tracking_number]))
    _as(client, "edicola")
    faults += _page_faults(client, reverse("pickup_point", args=[PickupPoint.objects.get().pk]))

    assert faults == []


def test_admin_lists_and_forms_read_as_italian(client, demo_in_italian):
    _as(client, "admin")
    urls = [reverse("admin:index")]
    for model in admin.site._registry:
        app, name = model._meta.app_label, model._meta.model_name
        urls.append(reverse(f"admin:{app}_{name}_changelist"))
        first = model._default_manager.first()
        # Permission names are rows Django wrote in English when it migrated: data.
        if first is not None and app != "auth":
            urls.append(reverse(f"admin:{app}_{name}_change", args=[first.pk]))

    faults = [fault for url in urls for fault in _page_faults(client, url)]

    assert faults == []


def test_emails_read_as_italian(demo_in_italian):
    faults = []
    for email in CodeEmail.objects.select_related("code__shipment__order"):
        message = build_message(email)
        texts = [message.subject, *message.body.splitlines()]
        texts += _visible(message.alternatives[0].content)
        faults += _faults(f"email {email.purpose}", [t for t in texts if t.strip()])

    assert faults == []


def test_tomorrow_badge_is_followed_by_a_lower_case_weekday(client, customer, ops, settings):
    from handoff.services import shipment_mark_shipped
    from tests.conftest import make_valuable_shipment

    shipment = make_valuable_shipment(customer)
    shipment_mark_shipped(
        shipment=shipment, actor=ops, delivery_day=TODAY + datetime.timedelta(days=1)
    )
    _as(client, "alice")

    content = client.get(reverse("track", args=[shipment.tracking_number])).content.decode()

    assert "venerdì 27 novembre 2026" in content
    assert "Venerdì" not in content


# --- Opening hours in the reader's language ------------------------------------------------


def test_opening_hours_are_shown_in_the_readers_language():
    hours = "Mon–Sat 07:00–19:30, Sun 08:00–13:00"

    with translation.override("it"):
        italian = opening_hours.localised(hours)
    with translation.override("en"):
        english = opening_hours.localised(hours)

    assert italian == "lun–sab 07:00–19:30, dom 08:00–13:00"
    assert english == "Mon–Sat 07:00–19:30, Sun 08:00–13:00"


def test_opening_hours_written_in_italian_are_read_too():
    assert opening_hours.parse("lun-ven 09:00-13:00 15:00-19:00; sab 09:00-12:00") == {
        **{
            day: [
                (datetime.time(9), datetime.time(13)),
                (datetime.time(15), datetime.time(19)),
            ]
            for day in range(5)
        },
        5: [(datetime.time(9), datetime.time(12))],
    }


@pytest.mark.parametrize(
    "hours", ["Mon-Sat 7-19", "every day", "Mon–Sat 19:30–07:00", "Sat–Mon 09:00–12:00"]
)
def test_opening_hours_not_in_the_form_are_refused(hours):
    point = PickupPoint(name="Edicola", address="Via Roma 1", opening_hours=hours)

    with pytest.raises(ValidationError) as error:
        point.full_clean()

    assert "opening_hours" in error.value.message_dict


# --- Deadlines a customer can keep ---------------------------------------------------------


@pytest.fixture
def closes_at_half_past_seven(pickup_point):
    pickup_point.opening_hours = "Mon–Sat 07:00–19:30, Sun 08:00–13:00"
    pickup_point.save(update_fields=["opening_hours"])
    return pickup_point


def _ready_email(shipment):
    email = CodeEmail.objects.get(
        code__shipment=shipment, purpose=CodeEmail.Purpose.AT_PICKUP_POINT
    )
    return build_message(email)


def test_ready_email_gives_the_closing_time_of_the_last_collection_day(
    closes_at_half_past_seven, customer, ops
):
    shipment = make_parcel_at(closes_at_half_past_seven, customer, ops)
    last_day = shipment.delivery_day
    closes = opening_hours.closing_time(closes_at_half_past_seven.opening_hours, last_day)

    message = _ready_email(shipment)

    assert f"before {closes:%H:%M}" in message.body
    assert "23:59" not in message.body
    assert "23:59" not in message.alternatives[0].content


def test_ready_email_names_the_last_day_the_point_opens(pickup_point, customer, ops):
    pickup_point.opening_hours = "Mon–Fri 09:00–18:00"
    pickup_point.save(update_fields=["opening_hours"])
    shipment = make_parcel_at(pickup_point, customer, ops)
    assert shipment.delivery_day.isoweekday() in (6, 7)  # the last day falls on a weekend

    message = _ready_email(shipment)

    assert "Collect it by Friday 27 November 2026, before 18:00" in message.body


def test_ready_email_in_italian_gives_the_closing_time(closes_at_half_past_seven, customer, ops):
    shipment = make_parcel_at(closes_at_half_past_seven, customer, ops)
    Order.objects.update(language="it")

    message = _ready_email(shipment)

    assert "prima delle " in message.body
    assert "lun–sab 07:00–19:30, dom 08:00–13:00" in message.body


def test_tracking_page_gives_the_closing_time_not_midnight(
    client, closes_at_half_past_seven, customer, ops
):
    shipment = make_parcel_at(closes_at_half_past_seven, customer, ops)
    closes = opening_hours.closing_time(
        closes_at_half_past_seven.opening_hours, shipment.delivery_day
    )
    client.force_login(customer)

    content = client.get(reverse("track", args=[shipment.tracking_number])).content.decode()

    assert f"before {closes:%H:%M}, when Edicola Centrale closes" in content
    assert "23:59" not in content
