"""Browser tests: Playwright driving Debian's Chromium against the live test server."""

import json
import os
import re
import shutil
from pathlib import Path

import pytest

from tests.conftest import FROZEN_NOW, skip_or_fail

# Playwright's sync API runs an event loop in this thread; the ORM calls the tests make
# between browser steps are ordinary synchronous ones.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
SCREENSHOTS = Path(
    os.environ.get("SCREENSHOT_DIR", Path(__file__).resolve().parents[2] / "test-artifacts")
)
# axe-core from npm (package.json at the repository root; `make install` runs `npm ci`).
AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
# A cheap phone held upright, and a laptop.
PHONE, DESKTOP = 360, 1280


def pytest_terminal_summary(terminalreporter):
    folder = SCREENSHOTS / "screenshots"
    if folder.is_dir() and any(folder.iterdir()):
        terminalreporter.write_line(f"Browser screenshots written to {folder}")


def pytest_collection_modifyitems(items):
    for item in items:
        if "/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    if shutil.which(CHROMIUM) is None:
        skip_or_fail(f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ],
    }


@pytest.fixture(autouse=True)
def frozen_now(time_machine):
    # The clock runs in browser tests (pages wait on it), starting from the same instant.
    time_machine.move_to(FROZEN_NOW, tick=True)
    return FROZEN_NOW


@pytest.fixture(autouse=True)
def _browser_session_cookies(settings):
    # Frozen time would give cookies an expiry in the browser's past after a while.
    settings.SESSION_EXPIRE_AT_BROWSER_CLOSE = True
    settings.CSRF_COOKIE_AGE = None


@pytest.fixture
def screenshot(request):
    folder = SCREENSHOTS / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)

    def take(page, name: str) -> Path:
        # Test ids hold brackets and, when parametrized with paths, slashes.
        test = re.sub(r"[^A-Za-z0-9_.-]+", "-", request.node.name).strip("-")
        path = folder / f"{test}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


@pytest.fixture
def sign_in(live_server):
    def sign_in_as(page, username: str) -> None:
        page.goto(f"{live_server.url}/accounts/login/")
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(f"{username}-demo-pass")
        page.get_by_role("button", name="Sign in").click()

    return sign_in_as


@pytest.fixture
def screenshots(screenshot):
    """Screenshots of the page as it is now, on a phone and on a laptop."""

    def take_both(page, name: str) -> list[Path]:
        original = page.viewport_size
        paths = []
        for width in (PHONE, DESKTOP):
            page.set_viewport_size({"width": width, "height": 800})
            paths.append(screenshot(page, f"{name}-{width}"))
        page.set_viewport_size(original)
        return paths

    return take_both


@pytest.fixture(scope="session")
def axe_source():
    if not AXE.exists():
        skip_or_fail(f"axe-core not installed at {AXE} (run `npm ci`, or `make install`)")
    return AXE.read_text(encoding="utf-8")


@pytest.fixture
def assert_accessible(axe_source):
    """Run axe-core in the page; fail on any serious or critical violation, named."""

    def check(page) -> None:
        # Evaluated through the DevTools protocol, so the site's CSP does not block it.
        if not page.evaluate("() => typeof window.axe !== 'undefined'"):
            page.evaluate(axe_source)
        results = page.evaluate(
            """() => axe.run(document, {
                runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa",
                                                 "wcag22aa", "best-practice"]},
                resultTypes: ["violations"],
            })"""
        )
        serious = [
            {
                "rule": violation["id"],
                "impact": violation["impact"],
                "help": violation["help"],
                "where": [node["target"] for node in violation["nodes"]][:5],
            }
            for violation in results["violations"]
            if violation["impact"] in ("serious", "critical")
        ]
        assert serious == [], f"{page.url}:\n{json.dumps(serious, indent=2)}"

    return check
