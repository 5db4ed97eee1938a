"""Parcels for a pickup point that a courier did not drop on their day used to be left as
`delivery_failed`, while the customer saw them on their way (rule 15). They are `shipped`
now, on their way to the point, as the day-end leaves such parcels from now on; the
timeline says so, so that it still ends on the parcel's status."""

from django.db import migrations
from django.utils import timezone

NOTE = "Not dropped at the pickup point on its day: it goes out again."


def missed_drops_on_their_way(apps, schema_editor):
    Shipment = apps.get_model("orders", "Shipment")
    TrackingEvent = apps.get_model("orders", "TrackingEvent")
    stranded = Shipment.objects.filter(status="delivery_failed", pickup_point__isnull=False)
    ids = list(stranded.values_list("pk", flat=True))
    if not ids:
        return
    now = timezone.now()
    Shipment.objects.filter(pk__in=ids).update(status="shipped")
    TrackingEvent.objects.bulk_create(
        TrackingEvent(shipment_id=pk, status="shipped", note=NOTE, created_at=now) for pk in ids
    )


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0004_shipment_receipt_sent_at"),
    ]

    operations = [
        migrations.RunPython(missed_drops_on_their_way, migrations.RunPython.noop),
    ]
