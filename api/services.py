"""Orders placed by a retailer's systems, with the Idempotency-Key rule."""

import hashlib
import json
import secrets

from django.contrib.auth import get_user_model
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.utils import timezone

from orders.models import Order, OrderItem, Shipment

from .exceptions import IdempotencyKeyReused, ReferenceTaken
from .models import IdempotencyKey

User = get_user_model()


def request_hash(data: dict) -> str:
    """The same body, whatever its key order or spacing, hashes the same."""
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), cls=DjangoJSONEncoder)
    return hashlib.sha256(canonical.encode()).hexdigest()


def customer_for_email(*, email: str, name: str):
    """The account with this email, or a new one without a password: the customer signs
    in through the links in their emails (rule 17)."""
    existing = User.objects.filter(email__iexact=email).order_by("pk").first()
    if existing is not None:
        return existing
    first_name, _, last_name = name.strip().partition(" ")
    username = email.lower()[:150]
    if User.objects.filter(username=username).exists():
        username = f"{username[:140]}-{secrets.token_hex(4)}"
    user = User(username=username, email=email, first_name=first_name, last_name=last_name)
    user.set_unusable_password()
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError:
        # A concurrent request created this customer first (the insert waited for its commit).
        return User.objects.get(username=username)
    return user


@transaction.atomic
def order_create(*, retailer, data: dict) -> Order:
    """The order, its items and its parcels (one by default, or as `data["parcels"]` groups
    the item indexes). Raises ReferenceTaken when the retailer already used the reference."""
    if Order.objects.filter(retailer=retailer, reference=data["reference"]).exists():
        raise ReferenceTaken(data["reference"])
    customer_data = data["customer"]
    customer = customer_for_email(email=customer_data["email"], name=customer_data["name"])
    point = data.get("pickup_point")
    address = data.get("delivery_address") or f"{point.name}\n{point.address}"
    try:
        with transaction.atomic():
            order = Order.objects.create(
                retailer=retailer,
                reference=data["reference"],
                customer=customer,
                email=customer_data["email"],
                language=customer_data["language"],
                delivery_address=address,
            )
    except IntegrityError as error:
        # Another request took the reference between the check and the insert.
        raise ReferenceTaken(data["reference"]) from error
    groups = data.get("parcels") or [list(range(len(data["items"])))]
    shipments = Shipment.objects.bulk_create(
        Shipment(order=order, pickup_point=point) for _group in groups
    )
    parcel_of = {index: shipments[n] for n, group in enumerate(groups) for index in group}
    OrderItem.objects.bulk_create(
        OrderItem(order=order, shipment=parcel_of[index], **item)
        for index, item in enumerate(data["items"])
    )
    return order


@transaction.atomic
def order_create_idempotent(
    *, retailer, data: dict, idempotency_key: str | None, body_hash: str
) -> tuple[Order, bool]:
    """order_create under the Idempotency-Key rule: the same key and body again answer the
    order the first request created (False: not created now); the same key with another
    body raises IdempotencyKeyReused. Two concurrent requests with one key: the second's
    INSERT waits on the unique index until the first commits, then finds its order."""
    if not idempotency_key:
        return order_create(retailer=retailer, data=data), True
    record, created = IdempotencyKey.objects.get_or_create(
        retailer=retailer,
        key=idempotency_key,
        defaults={"request_hash": body_hash, "created_at": timezone.now()},
    )
    if not created:
        if record.request_hash != body_hash or record.order_id is None:
            raise IdempotencyKeyReused(idempotency_key)
        return record.order, False
    order = order_create(retailer=retailer, data=data)
    record.order = order
    record.save(update_fields=["order"])
    return order, True
