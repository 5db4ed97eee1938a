"""Run the day-end sweep by hand: the same one beat runs just after local midnight."""

from django.core.management.base import BaseCommand

from codes.lifecycle import code_day_end_sweep


class Command(BaseCommand):
    help = (
        "Expire every active code whose validity has ended, and reschedule home deliveries "
        "still out for delivery after their day (safe to run at any time, any number of times)."
    )

    def handle(self, *args, **options):
        result = code_day_end_sweep()
        self.stdout.write(
            self.style.SUCCESS(
                f"{result.expired} codes expired, {result.rescheduled} parcels rescheduled."
            )
        )
