from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PickupConfig(AppConfig):
    """The pickup-point operator's portal; pickup points themselves live in couriers."""

    name = "pickup"
    verbose_name = _("Pickup-point portal")
