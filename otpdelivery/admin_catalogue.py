"""Labels of Django's admin and of django-axes that their own Italian catalogues lack,
listed so that `make messages` puts them in ours.

Django 6.1 added admin texts ("Run", "- Select an option -", the hidden headings of search
and pagination, ...) that its Italian catalogue does not translate yet, and django-axes ships
no Italian at all; the Italian admin mixed them with our labels ("Search spedizioni").
Catalogues in LOCALE_PATHS win over the packages' own, so translating these msgids in
locale/it fixes them. Nothing imports this module: makemessages only needs to read it.
"""

from django.utils.translation import gettext_noop, pgettext_noop

DJANGO = [
    gettext_noop("- Select an option -"),
    gettext_noop("Run"),
    gettext_noop("Model name"),
    gettext_noop("Add link"),
    gettext_noop("Change or view list link"),
    gettext_noop("Search %(name)s"),
    gettext_noop("Filter by %(field_name)s"),
    gettext_noop("Pagination %(name)s"),
    gettext_noop("Pagination %(name)s entries"),
    gettext_noop("Forgotten your login credentials?"),
    gettext_noop("Set password"),
    gettext_noop("Raw passwords are not stored, so there is no way to see the user’s password."),
]
AXES = [
    gettext_noop("User Agent"),
    gettext_noop("IP Address"),
    gettext_noop("Username"),
    gettext_noop("HTTP Accept"),
    gettext_noop("Path"),
    gettext_noop("Attempt Time"),
    gettext_noop("Access lock out"),
    gettext_noop("access failure"),
    gettext_noop("access failures"),
    gettext_noop("GET Data"),
    gettext_noop("POST Data"),
    gettext_noop("Failed Logins"),
    gettext_noop("access attempt"),
    gettext_noop("access attempts"),
    gettext_noop("Access Attempt"),
    gettext_noop("Expires At"),
    gettext_noop("The time when access attempt expires and is no longer valid."),
    gettext_noop("access attempt expiration"),
    gettext_noop("access attempt expirations"),
    gettext_noop("Logout Time"),
    gettext_noop("Session key hash (sha256)"),
    gettext_noop("access log"),
    gettext_noop("access logs"),
    gettext_noop("Locked Out"),
    gettext_noop("Form Data"),
    gettext_noop("Meta Data"),
    gettext_noop("Clean up expired attempts"),
    gettext_noop("Not set"),
    gettext_noop("Attempt Remaining"),
    pgettext_noop("axes app", "Axes"),
]
