"""People in the admin, without a way for staff to take over a customer's account.

A customer's email address is where their password-reset link goes, and whoever signs
in as the customer reads the codes of their parcels on Track my package. So only a
superuser may change a person's email address, password, staff status or permissions;
other staff with the permission to change people see those fields read-only.
"""

from axes.utils import reset as axes_reset
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin
from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from alerts.models import Alert
from alerts.services import alert_open

# What would let a staff user receive another person's codes or widen their own rights.
SUPERUSER_ONLY_FIELDS = ("email", "is_staff", "is_superuser", "groups", "user_permissions")


class OperationsUserAdmin(UserAdmin):
    actions = ["unlock_sign_in"]

    @admin.action(description=_("Unlock sign-in"), permissions=["change"])
    def unlock_sign_in(self, request, queryset):
        """A courier locked out at 8 a.m. must not lose the day's round: forget every
        failed sign-in of these people, from every address, at once."""
        for person in queryset:
            axes_reset(username=person.username)
            self.log_change(request, person, _("Sign-in unlocked."))
        count = queryset.count()
        self.message_user(
            request,
            ngettext(
                "%(count)d person can sign in again at once.",
                "%(count)d people can sign in again at once.",
                count,
            )
            % {"count": count},
            messages.SUCCESS,
        )

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None and not request.user.is_superuser:
            fields.extend(name for name in SUPERUSER_ONLY_FIELDS if name not in fields)
        return fields

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if change and "email" in form.changed_data:
            # Only a superuser gets here; even so, where a person's password-reset link
            # goes is worth a second pair of eyes.
            alert_open(
                kind=Alert.Kind.RECIPIENT_CHANGED,
                person=obj,
                details=f"Email address of {obj.username} changed by {request.user.username}.",
            )

    def user_change_password(self, request, id, form_url=""):
        # Setting someone else's password is signing in as them.
        if not request.user.is_superuser and str(request.user.pk) != str(id):
            raise PermissionDenied
        return super().user_change_password(request, id, form_url)
