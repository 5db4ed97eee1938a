"""Day and month names, listed so that `make messages` puts them in our own catalogue.

Italian writes them in lower case ("giovedì 26 novembre 2026"), but Django's Italian
catalogue capitalises them. Catalogues in LOCALE_PATHS win over Django's, so translating these
names in locale/it fixes every date the site formats with the `l` and `F` format characters.
Nothing imports this module: makemessages only needs to read it.
"""

from django.utils.translation import gettext_noop

WEEKDAYS = [
    gettext_noop("Monday"),
    gettext_noop("Tuesday"),
    gettext_noop("Wednesday"),
    gettext_noop("Thursday"),
    gettext_noop("Friday"),
    gettext_noop("Saturday"),
    gettext_noop("Sunday"),
]
MONTHS = [
    gettext_noop("January"),
    gettext_noop("February"),
    gettext_noop("March"),
    gettext_noop("April"),
    gettext_noop("May"),
    gettext_noop("June"),
    gettext_noop("July"),
    gettext_noop("August"),
    gettext_noop("September"),
    gettext_noop("October"),
    gettext_noop("November"),
    gettext_noop("December"),
]
