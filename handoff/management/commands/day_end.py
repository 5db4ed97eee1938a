"""Run the day-end work by hand: the same steps beat runs just after local midnight."""

from django.core.management.base import BaseCommand

from handoff.services import shipments_day_end


class Command(BaseCommand):
    help = (
        "Expire ended codes, reschedule missed deliveries and drops, and return parcels not "
        "collected in time (safe to run at any time, any number of times)."
    )

    def handle(self, *args, **options):
        result = shipments_day_end()
        self.stdout.write(
            self.style.SUCCESS(
                f"{result.expired} codes expired, {result.rescheduled} parcels rescheduled, "
                f"{result.missed_drops} missed drops, {result.returned} parcels returned."
            )
        )
