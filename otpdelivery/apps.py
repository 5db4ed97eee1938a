"""The project's own app configurations."""

from django.contrib.admin.apps import AdminConfig


class OperationsAdminConfig(AdminConfig):
    """Django's admin, on the site that keeps secret columns out of every changelist."""

    default_site = "otpdelivery.admin_site.OperationsAdminSite"

    def ready(self):
        super().ready()
        # After every app's admin module is loaded, so that auth's own registration is
        # the one replaced.
        from django.contrib.auth import get_user_model

        from .user_admin import OperationsUserAdmin

        user_model = get_user_model()
        self.module.site.unregister(user_model)
        self.module.site.register(user_model, OperationsUserAdmin)
