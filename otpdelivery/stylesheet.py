"""The site stylesheet, inline on a courier's first compressed page and linked after it.

On a slow phone network a linked stylesheet costs a second round trip before the page can
be shown. The courier's pages are compressed (`gzip_page`), so there the stylesheet can
travel inside the page (4.4 KB gzipped) when the browser has not had it yet; the page
also asks the browser to prefetch the stylesheet's file and sets a cookie saying so, and
the next pages link it and find it in the cache. Every other page links it: uncompressed,
the inline copy would cost 16.8 KB each time. The inline `<style>` is allowed by the
response's CSP nonce, never by 'unsafe-inline' (SECURITY.md, row 15).

Chromium lets the prefetch through `default-src 'none'` (CSP 3 now judges a prefetch by
the least restrictive fetch directive, here 'self'). A browser that refuses or ignores it
fetches the stylesheet by its link on the next page: a round trip slower, never unstyled.
"""

import functools
import re
from pathlib import Path, PurePosixPath

from django.conf import settings
from django.contrib.staticfiles import finders
from django.contrib.staticfiles.storage import ManifestFilesMixin, staticfiles_storage
from django.templatetags.static import static
from django.utils.cache import add_never_cache_headers
from django.utils.safestring import mark_safe

STYLESHEET = "css/site.css"
# Its value is the stylesheet's version (its hashed file name): after a deploy that changes
# the stylesheet, the browser's copy is out of date and the first page inlines it again.
# One name, so that versions replace each other rather than pile up in the browser.
COOKIE_NAME = "site_css"
# A courier works every day; a browser that keeps the cookie longer than its cache pays one
# round trip for the stylesheet, one that drops it sooner gets it inline once more.
COOKIE_MAX_AGE = 7 * 24 * 60 * 60
# As django.middleware.gzip decides whether to compress.
_ACCEPTS_GZIP = re.compile(r"\bgzip\b")
_RELATIVE_REFERENCE = re.compile(r"@import|url\(\s*['\"]?(?!data:|/|https?:)", re.IGNORECASE)


def inline_until_cached(view):
    """For a view whose pages are compressed: its page may carry the stylesheet inline, and
    the response that does sets the cookie saying the browser now has it."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        request.may_inline_stylesheet = True
        response = view(request, *args, **kwargs)
        if getattr(request, "stylesheet_inlined", False):
            # A stored copy would replay a nonce that no later response's policy holds.
            add_never_cache_headers(response)
            response.set_cookie(
                COOKIE_NAME,
                stylesheet_version(),
                max_age=COOKIE_MAX_AGE,
                secure=settings.SESSION_COOKIE_SECURE,
                httponly=True,
                samesite="Lax",
            )
        return response

    return wrapper


def stylesheet_version() -> str:
    """The served file's name: hashed (`site.0123abcd4567.css`) under the manifest storage."""
    return PurePosixPath(static(STYLESHEET).split("?", 1)[0]).name


def stylesheet_text() -> str | None:
    """The stylesheet as the browser would get it from its URL, or None if it cannot be put
    in a page as it is."""
    if isinstance(staticfiles_storage, ManifestFilesMixin):
        # Production: the collected file, whose url() references the manifest storage has
        # rewritten to hashed names, the same bytes as the linked file.
        return _collected_text(
            str(staticfiles_storage.location), staticfiles_storage.stored_name(STYLESHEET)
        )
    # Development and tests, without a manifest: the file in static/, as runserver serves
    # it, read afresh so that an edit shows at once.
    return _inlinable(Path(finders.find(STYLESHEET)).read_text(encoding="utf-8"))


@functools.cache
def _collected_text(location: str, stored_name: str) -> str | None:
    """Read and checked once per process and per deploy (the location and hashed name
    change with it)."""
    with staticfiles_storage.open(stored_name) as collected:
        return _inlinable(collected.read().decode("utf-8"))


def _inlinable(text: str) -> str | None:
    """The text, or None when it cannot go into a page as it is: unescaped, "</style" would
    end the <style> early, and a relative url() or an @import would resolve against the
    page's address, not the stylesheet's (the manifest storage writes url() references
    relative to the file)."""
    if "</style" in text.lower() or _RELATIVE_REFERENCE.search(text):
        return None
    return text


def _should_inline(request) -> bool:
    return (
        getattr(request, "may_inline_stylesheet", False)
        and bool(_ACCEPTS_GZIP.search(request.headers.get("Accept-Encoding", "")))
        and request.COOKIES.get(COOKIE_NAME) != stylesheet_version()
    )


def stylesheet_context(request, nonce) -> dict:
    """For _partials/_stylesheet.html (the `site_stylesheet` tag): the stylesheet's URL,
    and its text and the response's CSP nonce when the page carries it inline."""
    text = None
    if request is not None and nonce is not None and _should_inline(request):
        text = stylesheet_text()
    if text is not None:
        request.stylesheet_inlined = True
    return {
        "href": static(STYLESHEET),
        # Our own file, from our own storage, checked above to hold no closing tag.
        "inline": mark_safe(text) if text is not None else None,  # noqa: S308
        "nonce": nonce,
    }
