from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CouriersConfig(AppConfig):
    name = "couriers"
    verbose_name = _("Couriers and pickup points")
