"""Models of apps that may not be installed: the dashboard and the metrics read them when
they are there and show nothing for them when they are not."""

from django.apps import apps
from django.db import models


def optional_model(app_label: str, model_name: str) -> type[models.Model] | None:
    try:
        return apps.get_model(app_label, model_name)
    except LookupError:
        return None
