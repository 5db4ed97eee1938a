"""Italian and English: every user-visible string translated, and Italian served to who asks."""

import shutil
import subprocess
import sys
from pathlib import Path

import polib
import pytest
from django.urls import reverse

from tests.conftest import plain_code, skip_or_fail

BASE_DIR = Path(__file__).resolve().parents[1]
# The same options as `make messages` in the Makefile.
I18N_IGNORE = [
    "--ignore=.venv",
    "--ignore=node_modules",
    "--ignore=staticfiles",
    "--ignore=test-artifacts",
    "--ignore=tests",
    "--ignore=bench",
]
NOT_SOURCE = shutil.ignore_patterns(
    ".git",
    ".venv",
    "node_modules",
    "staticfiles",
    "test-artifacts",
    "__pycache__",
    "*.sqlite3",
    "*.mo",
    ".ruff_cache",
)


def _require_gettext():
    for program in ("xgettext", "msgmerge", "msgfmt"):
        if shutil.which(program) is None:
            skip_or_fail(f"{program} not found (apt-get install gettext)")


@pytest.fixture(scope="module")
def refreshed_catalogue(tmp_path_factory):
    """The Italian catalogue as `make messages` would leave it, made in a copy of the tree."""
    _require_gettext()
    source = tmp_path_factory.mktemp("i18n") / "src"
    shutil.copytree(BASE_DIR, source, ignore=NOT_SOURCE)
    manage = [sys.executable, "manage.py"]
    options = ["--locale=it", *I18N_IGNORE]
    subprocess.run(  # noqa: S603 - fixed arguments, our own manage.py
        [*manage, "makemessages", "--no-obsolete", "--add-location=file", *options],
        cwd=source,
        check=True,
        capture_output=True,
    )
    compiled = subprocess.run(  # noqa: S603 - fixed arguments, our own manage.py
        [*manage, "compilemessages", *options], cwd=source, capture_output=True, text=True
    )
    return polib.pofile(str(source / "locale/it/LC_MESSAGES/django.po")), compiled


def test_every_user_visible_string_has_an_italian_translation(refreshed_catalogue):
    catalogue, _ = refreshed_catalogue

    untranslated = [entry.msgid for entry in catalogue.untranslated_entries()]

    assert untranslated == [], "run `make messages` and translate these in locale/it"


def test_no_italian_translation_is_left_fuzzy(refreshed_catalogue):
    catalogue, _ = refreshed_catalogue

    fuzzy = [entry.msgid for entry in catalogue.fuzzy_entries()]

    assert fuzzy == [], "check these in locale/it, then remove their `#, fuzzy` flag"


@pytest.mark.parametrize(
    "catalogue_path",
    sorted((BASE_DIR / "locale").glob("*/LC_MESSAGES/*.po")),
    ids=lambda path: str(path.relative_to(BASE_DIR)),
)
def test_every_catalogue_in_the_repository_is_fully_translated(catalogue_path):
    catalogue = polib.pofile(str(catalogue_path))

    left = [entry.msgid for entry in catalogue.untranslated_entries() + catalogue.fuzzy_entries()]

    assert left == []


def test_italian_catalogue_compiles_with_matching_placeholders(refreshed_catalogue):
    _, compiled = refreshed_catalogue

    assert compiled.returncode == 0, compiled.stderr


@pytest.fixture
def compiled_italian():
    if not (BASE_DIR / "locale/it/LC_MESSAGES/django.mo").exists():
        skip_or_fail("Italian catalogue not compiled (run `make translations`)")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("accept_language", "heading"),
    [
        ("it-IT,it;q=0.9,en;q=0.8", "Accedi"),
        ("it", "Accedi"),
        ("en-GB,en;q=0.9", "Sign in"),
        ("de-DE,de;q=0.9", "Sign in"),
    ],
)
def test_sign_in_page_speaks_the_language_the_browser_prefers(
    client, compiled_italian, accept_language, heading
):
    response = client.get(reverse("login"), headers={"accept-language": accept_language})

    assert f"<h1>{heading}</h1>" in response.content.decode()


@pytest.mark.django_db
def test_language_switcher_turns_the_site_italian(client, compiled_italian):
    response = client.post(
        reverse("set_language"), {"language": "it", "next": reverse("login")}, follow=True
    )

    content = response.content.decode()
    assert '<html lang="it">' in content
    assert "<h1>Accedi</h1>" in content


@pytest.mark.django_db
def test_tracking_page_in_italian_shows_days_in_italian_and_the_code_as_digits(
    client, customer, out_for_delivery, compiled_italian
):
    client.force_login(customer)
    code = plain_code(out_for_delivery)

    response = client.get(
        reverse("track", args=[out_for_delivery.tracking_number]),
        headers={"accept-language": "it"},
    )

    content = response.content.decode()
    assert "Valido fino a giovedì 26 novembre 2026, 23:59" in content
    assert f'data-delivery-code="{code}"' in content
    assert f"{code[:3]} {code[3:]}" in content
    assert f"{code[:3]}.{code[3:]}" not in content
