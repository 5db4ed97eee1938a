"""Template tags of the site's own pages (the `site` library, see TEMPLATES in settings)."""

from functools import cache

from django import template
from django.conf import settings
from django.utils.text import capfirst
from django.utils.translation import get_language, get_language_info

from .stylesheet import stylesheet_context

register = template.Library()


@cache
def _languages_besides(current: str) -> tuple[tuple[str, str], ...]:
    return tuple(
        (code, capfirst(get_language_info(code)["name_local"]))
        for code, _name in settings.LANGUAGES
        if code != current
    )


@register.simple_tag
def other_languages() -> tuple[tuple[str, str], ...]:
    """Each language but the page's, with its name in itself ("Italiano", "English"):
    worked out once per process, since the header of every page offers them."""
    return _languages_besides(get_language())


@register.inclusion_tag("_partials/_stylesheet.html", takes_context=True)
def site_stylesheet(context):
    """The site stylesheet's <link>; on the courier's compressed pages, until the browser
    has had it, the stylesheet inline with the response's CSP nonce (otpdelivery.stylesheet)."""
    return stylesheet_context(context.get("request"), context.get("csp_nonce"))
