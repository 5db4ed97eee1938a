"""The admin site: Django's, with every registered model admin guarded against being
used to read back a secret column (a code's keyed hash or ciphertext, a password hash,
an API key's hash, a webhook secret) one filter at a time, and against changelist
parameters that would end in a server error.

The guards are mixed into each model admin as it is registered, ours and third parties'
alike, so a model added later is covered by declaring its secret fields on the model
(see otpdelivery.secret_fields) without anyone remembering to protect its admin.
"""

from django.contrib import admin
from django.contrib.admin import helpers
from django.contrib.admin.options import ModelAdmin
from django.core import checks
from django.core.exceptions import BadRequest, ValidationError
from django.db import DataError, router, transaction
from django.db.models.base import ModelBase

from .secret_fields import lookup_touches_secret

# Admin options naming fields or lookup paths that the changelist filters, sorts or
# searches by, or that a page shows.
_OPTIONS_NAMING_FIELDS = [
    "list_display",
    "list_display_links",
    "list_filter",
    "list_editable",
    "search_fields",
    "ordering",
    "sortable_by",
    "date_hierarchy",
    "fields",
    "readonly_fields",
    "raw_id_fields",
    "autocomplete_fields",
    "prepopulated_fields",
    "filter_horizontal",
    "filter_vertical",
    "radio_fields",
]


def _named_paths(value) -> list[str]:
    """The field names and lookup paths an admin option holds (strings only: callables
    are display functions; their `ordering` is looked at separately)."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [name for name in value if isinstance(name, str)]
    paths = []
    for item in value:
        if isinstance(item, str):
            paths.append(item.lstrip("^=@"))
        elif isinstance(item, (list, tuple)):
            paths.extend(_named_paths(item))
    return paths


class SecretColumnGuard:
    """Refuses any changelist lookup that reaches a secret column (a 400, like any other
    lookup the admin does not allow), and fails the system check when an option would
    filter, sort, search or show one."""

    def lookup_allowed(self, lookup, value, request):
        if lookup_touches_secret(self.model, lookup):
            return False
        return super().lookup_allowed(lookup, value, request)

    def to_field_allowed(self, request, to_field):
        if lookup_touches_secret(self.model, to_field):
            return False
        return super().to_field_allowed(request, to_field)

    def check(self, **kwargs):
        errors = super().check(**kwargs)
        for option in _OPTIONS_NAMING_FIELDS:
            for path in _named_paths(getattr(self, option, None)):
                if lookup_touches_secret(self.model, path):
                    errors.append(_secret_error(self, option, path))
        for name in _named_paths(self.list_display):
            attribute = getattr(self, name, None) or getattr(self.model, name, None)
            ordering = getattr(attribute, "admin_order_field", None)
            if isinstance(ordering, str) and lookup_touches_secret(self.model, ordering):
                errors.append(_secret_error(self, f"{name}.admin_order_field", ordering))
        return errors


def _secret_error(model_admin, option: str, path: str) -> checks.Error:
    return checks.Error(
        f"{option} of {type(model_admin).__name__} names the secret column {path!r}.",
        hint="Secret columns are never filtered, sorted, searched or shown in the admin.",
        obj=model_admin.__class__,
        id="otpdelivery.E001",
    )


class ParameterRangeGuard:
    """A changelist parameter the database or Python cannot take (a year of 23 digits, a
    number past the column's range) is a 400 with our error page, never a server error.

    Django turns malformed values into its own error redirect, but not values that
    overflow: those fail while the list is counted. The savepoint keeps the request's
    connection usable after the database refuses one."""

    def get_changelist_instance(self, request):
        try:
            with transaction.atomic(using=router.db_for_read(self.model)):
                return super().get_changelist_instance(request)
        except (OverflowError, ValueError, DataError) as error:
            raise BadRequest("A changelist parameter is out of range.") from error


# The largest value a 64-bit primary key column holds.
_MAX_ID = 2**63 - 1


class SelectionGuard:
    """An action's selection that names no possible row (`abc`, 25 digits) is a 400, not
    the server error Django answers while it filters by it."""

    def response_action(self, request, queryset, *args, **kwargs):
        pk = self.model._meta.pk
        for value in request.POST.getlist(helpers.ACTION_CHECKBOX_NAME):
            try:
                python = pk.to_python(value)
            except ValidationError as error:
                raise BadRequest("An action's selection names no row.") from error
            if isinstance(python, int) and not -_MAX_ID <= python <= _MAX_ID:
                raise BadRequest("An action's selection is out of range.")
        return super().response_action(request, queryset, *args, **kwargs)


class OperationsAdminSite(admin.AdminSite):
    def register(self, model_or_iterable, admin_class=None, **options):
        admin_class = admin_class or ModelAdmin
        if not issubclass(admin_class, SecretColumnGuard):
            admin_class = type(
                admin_class.__name__,
                (SecretColumnGuard, ParameterRangeGuard, SelectionGuard, admin_class),
                {"__module__": admin_class.__module__},
            )
        if isinstance(model_or_iterable, ModelBase):
            model_or_iterable = [model_or_iterable]
        super().register(model_or_iterable, admin_class, **options)
