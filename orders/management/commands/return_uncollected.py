"""Return parcels whose last collection day at a pickup point has ended (as beat does)."""

from django.core.management.base import BaseCommand

from orders.services import shipments_return_uncollected


class Command(BaseCommand):
    help = "Send back parcels not collected from a pickup point in time (safe to run again)."

    def handle(self, *args, **options):
        returned = shipments_return_uncollected()
        self.stdout.write(f"{len(returned)} uncollected parcel(s) returned to the sender.")
