"""Changing who receives an order's codes: the one audited way (issue 15, item 1; rule 9).

The order's customer (who reads the code on Track my package), its email address and its
language (where and how the code is emailed) decide who can learn a parcel's code. They
are read-only everywhere in the admin; only a superuser changes them, through this
service, which revokes every active code of the order's parcels and issues fresh ones to
the new recipient, tells the old address, and opens an alert for operations, so that even
a superuser cannot quietly hand themselves a parcel. Part of the hand-over layer (rule 13:
the codes change here and nowhere else), with its lock order: the person, the order's
parcels, then their codes.
"""

import datetime
import logging
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from alerts.models import Alert
from alerts.services import alert_open
from codes.models import DeliveryCode
from codes.services import code_issue
from orders.models import Order, Shipment

from . import locks

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RecipientChange:
    order: Order
    codes_reissued: int
    alert: Alert


@transaction.atomic
def order_change_recipient(
    *,
    order: Order,
    customer,
    email: str,
    language: str,
    actor,
    reason: str,
    now: datetime.datetime | None = None,
) -> RecipientChange:
    """Give the order a new recipient. Raises PermissionDenied unless `actor` is a
    superuser. The old codes stop working at once; the new recipient is emailed new ones
    (on commit, like every code email); the old address is told without any code."""
    if not getattr(actor, "is_superuser", False):
        raise PermissionDenied("Only a superuser may change who receives an order's codes.")
    now = now or timezone.now()
    locks.lock_person(actor)
    # The parcels before their codes, as every service of the layer does, so that a code
    # entry or a reschedule at the same moment waits instead of deadlocking.
    locks.lock_shipments(Shipment.objects.filter(order=order).values("pk"))
    # The order's row only (`of`): locking the joined customer too would wait on a person
    # who is acting at this moment (their own lock comes first for them).
    order = (
        Order.objects.select_for_update(no_key=True, of=("self",))
        .select_related("customer")
        .get(pk=order.pk)
    )
    old_customer, old_email, old_language = order.customer, order.email, order.language
    order.customer, order.email, order.language = customer, email, language
    order.save(update_fields=["customer", "email", "language"])

    reissued = 0
    active = (
        DeliveryCode.objects.filter(shipment__order=order, status=DeliveryCode.Status.ACTIVE)
        .select_related("shipment", "pickup_point")
        .order_by("shipment_id")
    )
    for code in list(active):
        code_issue(
            shipment=code.shipment, delivery_day=code.delivery_day, pickup_point=code.pickup_point
        )
        reissued += 1

    changes = []
    if old_customer.pk != customer.pk:
        changes.append(f"customer {old_customer.username} → {customer.username}")
    if old_email != email:
        changes.append("email address")
    if old_language != language:
        changes.append(f"language {old_language} → {language}")
    alert = alert_open(
        kind=Alert.Kind.RECIPIENT_CHANGED,
        person=customer,
        details=(
            f"Order {order.number}: recipient changed by {actor.username} "
            f"({', '.join(changes) or 'nothing'}); {reissued} code(s) revoked and issued "
            f"again to the new recipient. Reason: {reason}"
        ),
        now=now,
    )
    if old_email != email:
        transaction.on_commit(
            lambda: _tell_old_address(
                order_number=order.number, to=old_email, language=old_language
            )
        )
    logger.warning("Recipient of order %s changed by user %s", order.number, actor.pk)
    return RecipientChange(order=order, codes_reissued=reissued, alert=alert)


def _tell_old_address(*, order_number: str, to: str, language: str) -> None:
    with translation.override(language):
        send_mail(
            subject=_("Your order %(number)s: delivery codes now go to another address")
            % {"number": order_number},
            message=_(
                "Operations changed the address that receives the delivery codes of your "
                "order %(number)s. Codes sent to this address no longer work. If you did "
                "not ask for this, reply to this email at once."
            )
            % {"number": order_number},
            from_email=None,
            recipient_list=[to],
        )
