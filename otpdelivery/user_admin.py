"""People in the admin, without a way for staff to take over a customer's account.

A customer's email address is where their password-reset link goes, and whoever signs
in as the customer reads the codes of their parcels on Track my package. So only a
superuser may change a person's email address, password, staff status or permissions;
other staff with the permission to change people see those fields read-only.
"""

from django.contrib.auth.admin import UserAdmin
from django.core.exceptions import PermissionDenied

# What would let a staff user receive another person's codes or widen their own rights.
SUPERUSER_ONLY_FIELDS = ("email", "is_staff", "is_superuser", "groups", "user_permissions")


class OperationsUserAdmin(UserAdmin):
    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None and not request.user.is_superuser:
            fields.extend(name for name in SUPERUSER_ONLY_FIELDS if name not in fields)
        return fields

    def user_change_password(self, request, id, form_url=""):
        # Setting someone else's password is signing in as them.
        if not request.user.is_superuser and str(request.user.pk) != str(id):
            raise PermissionDenied
        return super().user_change_password(request, id, form_url)
