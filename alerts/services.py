"""Opening and resolving alerts: the only writes to `Alert`."""

import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from .exceptions import AlertAlreadyResolved, ResolutionNoteRequired
from .models import Alert


def _open_alert(*, kind: str, shipment, person) -> Alert | None:
    return (
        Alert.objects.filter(kind=kind, shipment=shipment, person=person, resolved_at__isnull=True)
        .order_by("pk")
        .first()
    )


@transaction.atomic
def alert_open(
    *,
    kind: str,
    shipment=None,
    person=None,
    details: str = "",
    now: datetime.datetime | None = None,
) -> Alert:
    """Open an alert, or return the one of this kind already open for this parcel/person.

    `details` is shown to operations as it is: callers never put a code in it.
    """
    if existing := _open_alert(kind=kind, shipment=shipment, person=person):
        return existing
    try:
        # A savepoint, so that losing the race to a concurrent opener leaves the
        # caller's transaction usable.
        with transaction.atomic():
            return Alert.objects.create(
                kind=kind,
                shipment=shipment,
                person=person,
                details=details,
                opened_at=now or timezone.now(),
            )
    except IntegrityError:
        return _open_alert(kind=kind, shipment=shipment, person=person)


@transaction.atomic
def alert_resolve(*, alert: Alert, actor, note: str, now: datetime.datetime | None = None) -> Alert:
    """Close an alert with who, when and what was done. A note is required."""
    note = (note or "").strip()
    if not note:
        raise ResolutionNoteRequired
    locked = Alert.objects.select_for_update().get(pk=alert.pk)
    if locked.resolved_at is not None:
        raise AlertAlreadyResolved
    locked.resolved_at = now or timezone.now()
    locked.resolved_by = actor
    locked.resolution_note = note
    locked.save(update_fields=["resolved_at", "resolved_by", "resolution_note"])
    alert.resolved_at = locked.resolved_at
    alert.resolved_by = actor
    alert.resolution_note = note
    return alert


@transaction.atomic
def alerts_open_after_wrong_codes(
    *,
    shipment=None,
    person=None,
    code_locked: bool = False,
    parcel_held: bool = False,
    person_blocked: bool = False,
    now: datetime.datetime | None = None,
) -> list[Alert]:
    """Rule 15: a lock, a hold or a person's block, reported by the code check that caused
    it, opens its alert; each stays open (whatever later happens to the parcel, such as a
    failed attempt and a new code) until a person resolves it with a note."""
    opened = []
    if shipment is not None and parcel_held:
        opened.append(alert_open(kind=Alert.Kind.PARCEL_HELD, shipment=shipment, now=now))
    elif shipment is not None and code_locked:
        opened.append(alert_open(kind=Alert.Kind.CODE_LOCKED, shipment=shipment, now=now))
    if person is not None and person_blocked:
        opened.append(alert_open(kind=Alert.Kind.PERSON_BLOCKED, person=person, now=now))
    return opened
