"""The operations dashboard in a real browser: charts drawn under the strict policy, the
page accessible, in English and Italian, on a phone and on a laptop."""

import io

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from .conftest import DESKTOP

pytestmark = pytest.mark.django_db(transaction=True)

CHARTS = ["first_attempt", "entries", "weekly"]


@pytest.fixture
def history(live_server):
    call_command("seed_demo_history", days=10, stdout=io.StringIO())


def _sign_in_to_admin(page, live_server):
    page.goto(f"{live_server.url}/admin/login/")
    page.locator("input[name=username]").fill("admin")
    page.locator("input[name=password]").fill("admin-demo-pass")
    page.locator("input[type=submit]").click()
    page.wait_for_load_state()


@pytest.mark.parametrize(
    ("language", "heading", "link"), [("en", "Today", "Dashboard"), ("it", "Oggi", "Cruscotto")]
)
def test_dashboard_draws_its_charts_accessibly_in_each_language(
    history, browser, live_server, screenshots, assert_accessible, language, heading, link
):
    context = browser.new_context(viewport={"width": DESKTOP, "height": 900})
    context.add_cookies([{"name": "django_language", "value": language, "url": live_server.url}])
    page = context.new_page()
    violations = []
    page.on(
        "console",
        lambda message: (
            violations.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    _sign_in_to_admin(page, live_server)

    page.get_by_role("link", name=link, exact=True).click()

    expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", language)
    for chart in CHARTS:
        # Chart.js keeps each chart it drew on its canvas.
        page.wait_for_function(
            "id => window.Chart && window.Chart.getChart(document.getElementById(id))",
            arg=f"chart-{chart}",
        )
    assert_accessible(page)
    page.locator("details.ops-numbers summary").first.click()
    assert_accessible(page)
    screenshots(page, f"dashboard-{language}")
    context.close()
    assert violations == []
