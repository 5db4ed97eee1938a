"""No admin page filters, sorts or searches by a secret column (issue 15, item 2).

A crawler over every model admin registered on the site tries each lookup a query
string can spell on every secret column reachable from its model, directly or through
relations: each is refused (400) or leaves the list exactly as without it. Secret
columns are those the models declare or name as secrets (otpdelivery.secret_fields),
so models added later are crawled the same way.
"""

import pytest
from django.contrib import admin
from django.contrib.admin import ModelAdmin
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.auth import get_user_model
from django.core.exceptions import SuspiciousOperation
from django.test import RequestFactory
from django.urls import reverse

from codes.models import CodeEntry, DeliveryCode
from orders.models import Order
from otpdelivery.admin_site import OperationsAdminSite
from otpdelivery.secret_fields import is_secret_field, lookup_touches_secret
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

# Relations followed from a changelist's model to reach a secret column elsewhere.
_MAX_HOPS = 2


def _secret_paths(model, hops=_MAX_HOPS, prefix="", seen=()):
    paths = []
    for field in model._meta.get_fields():
        name = field.name
        if not field.is_relation and is_secret_field(model, name):
            paths.append(prefix + name)
        elif field.is_relation and field.related_model is not None and hops > 0:
            if field.related_model in seen:
                continue
            paths.extend(
                _secret_paths(
                    field.related_model,
                    hops - 1,
                    f"{prefix}{name}__",
                    (*seen, model),
                )
            )
    return paths


def _admins():
    return sorted(admin.site._registry.items(), key=lambda item: item[0]._meta.label)


def _changelist(model):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")


def _list(model_admin, superuser, params=None):
    """The rows the changelist would show for these query parameters, or None when it
    refuses them (a 400, or the admin's own error redirect), without rendering the page:
    the same code path as a request, fast enough to try every lookup."""
    request = RequestFactory().get(_changelist(model_admin.model), params or {})
    request.user = superuser
    try:
        changelist = model_admin.get_changelist_instance(request)
    except (SuspiciousOperation, IncorrectLookupParameters):
        return None
    return sorted(obj.pk for obj in changelist.get_queryset(request))


@pytest.fixture
def superuser(db):
    return UserFactory(username="root", is_staff=True, is_superuser=True)


@pytest.fixture
def secrets_in_database(out_for_delivery):
    return DeliveryCode.objects.get(shipment=out_for_delivery)


def _lookups(code_hash):
    # Each with a value that matches the stored secret and one that matches nothing:
    # a lookup that filters shows a difference between the two.
    return {
        "": (code_hash, "z" * 64),
        "__exact": (code_hash, "z" * 64),
        "__startswith": (code_hash[:4], "zz"),
        "__istartswith": (code_hash[:4], "zz"),
        "__contains": (code_hash[2:6], "zz"),
        "__gt": ("", "~"),
        "__lt": ("~", ""),
        "__regex": (".", "^z"),
        "__in": (code_hash, "zz"),
        "__isnull": ("False", "True"),
    }


def test_the_site_knows_the_secret_columns_of_codes_and_passwords():
    assert is_secret_field(DeliveryCode, "code_hash")
    assert is_secret_field(DeliveryCode, "code_encrypted")
    assert is_secret_field(get_user_model(), "password")


def test_every_changelist_refuses_lookups_on_every_secret_column(superuser, secrets_in_database):
    code_hash = secrets_in_database.code_hash
    tried = set()
    for model, model_admin in _admins():
        unfiltered = _list(model_admin, superuser)
        assert unfiltered is not None, model
        for path in _secret_paths(model):
            for suffix, values in _lookups(code_hash).items():
                for value in values:
                    shown = _list(model_admin, superuser, {path + suffix: value})
                    assert shown in (None, unfiltered), (model, path + suffix, value)
                    tried.add(path)
    # The crawl reached the codes' own columns and others through relations.
    assert {"code_hash", "code__code_hash", "shipments__codes__code_hash"} <= tried


def test_the_code_list_refuses_a_prefix_of_the_hash(admin_client, secrets_in_database):
    response = admin_client.get(
        _changelist(DeliveryCode),
        {"code_hash__startswith": secrets_in_database.code_hash[:1]},
    )

    assert response.status_code == 400


def test_the_code_entry_list_refuses_a_hash_through_the_code(admin_client, secrets_in_database):
    response = admin_client.get(
        _changelist(CodeEntry),
        {"code__code_hash__startswith": secrets_in_database.code_hash[:1]},
    )

    assert response.status_code == 400


def test_no_changelist_sorts_by_a_secret_column(superuser, secrets_in_database):
    for model, model_admin in _admins():
        request = RequestFactory().get(_changelist(model))
        request.user = superuser
        columns = len(model_admin.get_list_display(request))
        for order in [*map(str, range(columns)), *(f"-{i}" for i in range(columns))]:
            request = RequestFactory().get(_changelist(model), {"o": order})
            request.user = superuser
            changelist = model_admin.get_changelist_instance(request)
            for field in changelist.get_ordering(request, changelist.root_queryset):
                name = getattr(field, "name", None) or str(getattr(field, "expression", field))
                assert not lookup_touches_secret(model, name), (model, order, field)


def test_search_never_matches_a_secret_column(superuser, secrets_in_database):
    code_hash = secrets_in_database.code_hash
    for model, model_admin in _admins():
        if not model_admin.search_fields:
            continue
        by_secret = _list(model_admin, superuser, {"q": code_hash[:8]})
        by_nothing = _list(model_admin, superuser, {"q": "zzzzzzzz"})
        assert by_secret == by_nothing, model


def test_the_check_fails_an_admin_that_names_a_secret_column():
    class LeakyAdmin(ModelAdmin):
        search_fields = ["shipment__tracking_number", "=code_hash"]
        list_filter = ["code_encrypted"]

    site = OperationsAdminSite(name="leaky")
    site.register(DeliveryCode, LeakyAdmin)

    errors = site.get_model_admin(DeliveryCode).check()

    assert [error.id for error in errors] == ["otpdelivery.E001", "otpdelivery.E001"]


def test_a_declared_secret_field_is_secret_whatever_its_name():
    class ApiKey:
        secret_fields = ("material",)

    assert is_secret_field(ApiKey, "material")
    assert not is_secret_field(ApiKey, "label")


def test_a_path_through_relations_to_a_secret_is_one():
    assert lookup_touches_secret(CodeEntry, "shipment__codes__code_hash__gt")
    assert lookup_touches_secret(Order, "-customer__password")
    assert not lookup_touches_secret(CodeEntry, "shipment__tracking_number__startswith")
