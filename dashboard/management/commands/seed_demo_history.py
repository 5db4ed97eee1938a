"""Thirty days of demo history before today, for the dashboard (see dashboard/history.py)."""

import time

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.utils import timezone

from couriers.models import PickupPoint
from dashboard.history import HISTORY_DAYS, history_create, history_exists
from orders.days import local_today

User = get_user_model()


class Command(BaseCommand):
    help = (
        "Make 30 days of plausible history (parcels shipped, handed over, failed, wrong "
        "codes, a hold, overrides) before today, through the services, so that the "
        "operations dashboard has something to show. Runs seed_demo first; safe to run again."
    )

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=HISTORY_DAYS)

    def handle(self, *args, days, **options):
        call_command("seed_demo", stdout=self.stdout)
        if history_exists():
            self.stdout.write("Demo history already exists.")
            return
        start = time.perf_counter()
        people = {
            user.username: user
            for user in User.objects.filter(username__in=["admin", "marco", "edicola"])
        }
        point = PickupPoint.objects.get(name="Edicola Centrale")
        parcels = history_create(
            today=local_today(timezone.now()), people=people, point=point, days=days
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo history: {parcels} parcels over {days} days "
                f"({time.perf_counter() - start:.1f} s)."
            )
        )
