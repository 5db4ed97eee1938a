"""The courier's stop page on a slow phone network, measured in a real browser.

Used by bench/run.py against its gunicorn. Playwright drives Chromium at 360 px wide with
Chrome DevTools' network emulation (400 ms latency, 400 kbit/s down and up). Three figures,
each set against its floor, the least any page could take on that network (one round trip
plus the document's bytes):

- the stop page on a cold cache (a fresh browser context, as a courier's first page: it
  carries the site stylesheet inline, otpdelivery.stylesheet) and warm (the next stop, with
  the cookie the first set and the stylesheet and scripts in the cache, the stylesheet
  from the first page's prefetch), usable when the code field is on screen with the
  site's stylesheet applied;
- Confirm delivery: from the tap to the confirmation on screen.

How each page got the stylesheet (inline, or linked from the cache or the network) is
printed beside its figures, so that a run measuring something else says so.

Times come from the page itself (performance.now() in the first animation frame at which
the page is usable, relative to the navigation's start), so the harness's own latency is
not in them. The bytes are what crossed the emulated network (headers included).
"""

import os
import shutil
import statistics

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
LATENCY_MS = 400
KBIT_PER_S = 400
BYTES_PER_MS = KBIT_PER_S * 1000 / 8 / 1000
WIDTH, HEIGHT = 360, 740

TARGET_CONFIRM = 1.2
TARGET_WARM = 1.1
TARGET_COLD = 1.5

# Usable: the code field or the delivery's outcome is in the document, every stylesheet
# linked before it has loaded and every inline one applies (one the Content-Security-Policy
# refused has no sheet); recorded in the animation frame that paints it.
USABLE_SCRIPT = """
(() => {
  const usable = () => {
    const target = document.querySelector("input[name=code], #outcome-title");
    if (!target || document.styleSheets.length === 0) return false;
    const sheets = [...document.querySelectorAll("link[rel=stylesheet], style")];
    return sheets.every((element) => element.sheet);
  };
  const poll = () => {
    if (usable()) window.__benchUsable = performance.now();
    else requestAnimationFrame(poll);
  };
  requestAnimationFrame(poll);
})();
"""


def available() -> str | None:
    """None when the measurement can run, else why not."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright is not installed (make install)"
    if shutil.which(CHROMIUM) is None:
        return f"Chromium not found at {CHROMIUM} (apt-get install chromium)"
    return None


class _Wire:
    """Bytes per request that crossed the emulated network, from the DevTools events."""

    def __init__(self, cdp):
        self.kinds: dict[str, str] = {}
        self.bytes: dict[str, int] = {}
        self.cached: set[str] = set()
        cdp.on("Network.responseReceived", self._received)
        cdp.on("Network.requestServedFromCache", self._from_cache)
        cdp.on("Network.loadingFinished", self._finished)

    def _received(self, event):
        self.kinds[event["requestId"]] = event["type"]
        if event["response"].get("fromDiskCache") or event["response"].get("fromPrefetchCache"):
            self.cached.add(event["requestId"])

    def _from_cache(self, event):
        self.cached.add(event["requestId"])

    def _finished(self, event):
        self.bytes[event["requestId"]] = int(event["encodedDataLength"])

    def take(self, *, inline_stylesheet: bool) -> dict:
        """Bytes since the last take: the documents' (the last one is the page shown) and
        all; and how the page got its stylesheet."""
        documents = [
            size for request, size in self.bytes.items() if self.kinds.get(request) == "Document"
        ]
        fetched = [
            request
            for request, kind in self.kinds.items()
            if kind == "Stylesheet" and request not in self.cached
        ]
        if inline_stylesheet:
            stylesheet = "inline"
        elif fetched:
            stylesheet = "linked, over the network"
        else:
            stylesheet = "linked, from the cache"
        figures = {
            "document": documents[-1] if documents else 0,
            "documents": len(documents),
            "total": sum(self.bytes.values()),
            "requests": len(self.bytes),
            "stylesheet": stylesheet,
        }
        self.kinds.clear()
        self.bytes.clear()
        self.cached.clear()
        return figures


def _inline_stylesheet(page) -> bool:
    return page.locator("style[nonce]").count() > 0


def _usable_ms(page) -> float:
    page.wait_for_function("window.__benchUsable !== undefined", timeout=30_000)
    return page.evaluate("window.__benchUsable")


def _cookies(cookie_header: str, base_url: str) -> list[dict]:
    cookies = []
    for part in cookie_header.split(";"):
        name, _, value = part.strip().partition("=")
        cookies.append({"name": name, "value": value, "url": base_url})
    return cookies


def _one_run(browser, *, base_url: str, cookie: str, cold_path: str, warm_path: str, code: str):
    context = browser.new_context(
        viewport={"width": WIDTH, "height": HEIGHT}, base_url=base_url, locale="en-GB"
    )
    try:
        context.add_cookies(_cookies(cookie, base_url))
        context.add_init_script(USABLE_SCRIPT)
        page = context.new_page()
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.send(
            "Network.emulateNetworkConditions",
            {
                "offline": False,
                "latency": LATENCY_MS,
                "downloadThroughput": KBIT_PER_S * 1000 / 8,
                "uploadThroughput": KBIT_PER_S * 1000 / 8,
            },
        )
        wire = _Wire(cdp)
        figures = {}
        for name, path in [("cold", cold_path), ("warm", warm_path)]:
            page.goto(path, wait_until="load")
            usable = _usable_ms(page)
            page.wait_for_load_state("networkidle")
            figures[name] = {
                "ms": usable,
                **wire.take(inline_stylesheet=_inline_stylesheet(page)),
            }
        page.fill("input[name=code]", code)
        with page.expect_navigation(wait_until="load"):
            page.get_by_role("button", name="Confirm delivery").click()
        usable = _usable_ms(page)
        if page.locator("#outcome-title").count() != 1:
            raise SystemExit("bench: Confirm delivery did not show the confirmation")
        page.wait_for_load_state("networkidle")
        figures["confirm"] = {
            "ms": usable,
            **wire.take(inline_stylesheet=_inline_stylesheet(page)),
        }
    finally:
        context.close()
    for measure in figures.values():
        measure["floor"] = LATENCY_MS + measure["document"] / BYTES_PER_MS
    return figures


def measure(*, base_url: str, cookie: str, runs: list[dict]) -> dict:
    """Each run: a fresh context, the cold stop page, a warm one, and Confirm delivery on
    it with its right code. The median of each figure over the runs."""
    from playwright.sync_api import sync_playwright

    results = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run"],
        )
        try:
            for run in runs:
                results.append(_one_run(browser, base_url=base_url, cookie=cookie, **run))
        finally:
            browser.close()
    medians = {}
    for name in ("cold", "warm", "confirm"):
        medians[name] = {
            key: statistics.median(result[name][key] for result in results)
            for key in results[0][name]
            if key != "stylesheet"
        }
        # Every run's way, once each: more than one means the runs measured different things.
        medians[name]["stylesheet"] = " / ".join(
            sorted({result[name]["stylesheet"] for result in results})
        )
    return medians


def describe(medians: dict, *, runs: int) -> list[str]:
    labels = {
        "cold": ("stop page, cold cache", TARGET_COLD),
        "warm": ("stop page, warm cache", TARGET_WARM),
        "confirm": ("Confirm delivery → confirmation", TARGET_CONFIRM),
    }
    lines = [
        f"Courier on a slow network (Chromium {WIDTH} px, {LATENCY_MS} ms latency,"
        f" {KBIT_PER_S} kbit/s each way; median of {runs} runs; floor = one round trip plus"
        " the document's bytes):"
    ]
    for name, (label, target) in labels.items():
        figures = medians[name]
        ratio = figures["ms"] / figures["floor"]
        verdict = "target met" if ratio <= target else "TARGET MISSED"
        lines.append(
            f"  {label:<34} {figures['ms']:6.0f} ms, floor {figures['floor']:4.0f} ms:"
            f" {ratio:4.2f}× (target ≤ {target}×: {verdict});"
            f" document {figures['document']:,.0f} B on the wire,"
            f" {figures['total']:,.0f} B in {figures['requests']:.0f} responses"
            f" ({figures['documents']:.0f} documents); stylesheet {figures['stylesheet']}"
        )
    return lines
