"""The project's own app configurations."""

from django.contrib.admin.apps import AdminConfig


class OperationsAdminConfig(AdminConfig):
    """Django's admin, on the site that keeps secret columns out of every changelist."""

    default_site = "otpdelivery.admin_site.OperationsAdminSite"
