"""Every main page passes axe-core (issue 11, item 4): the merchant's, the consumer's and the
arbitrator's pages, each on a desktop and on a phone (390 × 844), show no accessibility
violation of impact "serious" or "critical" (labels, contrast, landmarks, names, lang...), and
none is wider than the screen. The keyboard reaches the content past the top bar.

The world is the route table's (`tests/test_routes.py`): shop A's owner, consumer X and an
arbitrator, with a request in every state, tickets, disputes, a bulk upload and a webhook.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest
from django.urls import reverse

from tests import axe
from tests.test_browser import browser, log_in  # noqa: F401 (the browser fixture)
from tests.test_routes import ARBITRATOR, CATEGORY_OP, OWNER, World, X, build_world

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}

Pages = Callable[[World], list[str]]

# the innermost elements reaching past the right edge of the screen, for the failure message
WIDER_THAN_SCREEN = """() => [...document.querySelectorAll('body *')]
  .filter(e => e.getBoundingClientRect().right > innerWidth + 1)
  .filter(e => { for (let p = e.parentElement; p; p = p.parentElement)
    if (getComputedStyle(p).overflowX !== 'visible') return false; return true; })
  .filter(e => ![...e.children].some(c => c.getBoundingClientRect().right > innerWidth + 1))
  .slice(0, 4).map(e => e.outerHTML.slice(0, 100))"""


def consumer_pages(w: World) -> list[str]:
    return [
        reverse("my-invoices"),
        reverse("my-invoice", args=[w.pending.pk]),  # overdue, with its urge ticket
        reverse("my-invoice", args=[w.issued.pk]),  # issued, with the download
        reverse("my-request-new", args=[w.order.pk]),
        reverse("my-invoice-exchange", args=[w.issued.pk]),
        reverse("my-ticket", args=[w.ticket.pk]),
        reverse("my-disputes"),
        reverse("my-dispute", args=[w.dispute.pk]),
        reverse("my-dispute", args=[w.settling.pk]),  # a settlement to accept or reject
        reverse("my-dispute-open", args=[w.refused.pk]),
        reverse("inbox"),
        reverse("notification-settings"),
    ]


def merchant_pages(w: World) -> list[str]:
    pages = [
        "/merchant/",
        reverse("merchant-requests"),
        reverse("merchant-request", args=[w.pending.pk]),  # with the issue form
        reverse("ticket-workbench"),
        reverse("merchant-ticket", args=[w.ticket.pk]),
        reverse("merchant-disputes"),
        reverse("merchant-dispute", args=[w.dispute.pk]),
        reverse("merchant-bulk"),
        reverse("merchant-bulk-detail", args=[w.bulk.pk]),
        reverse("my-shops"),
        reverse("shop-staff", args=[w.shop.pk]),
        reverse("webhooks", args=[w.shop.pk]),
        reverse("webhook-detail", args=[w.shop.pk, w.endpoint.pk]),
        reverse("inbox"),
        reverse("notification-settings"),
    ]
    return list(dict.fromkeys(pages))  # /merchant/ may be the request list itself


def arbitrator_pages(w: World) -> list[str]:
    return [
        reverse("admin:disputes_dispute_changelist"),
        reverse("admin:disputes_dispute_change", args=[w.dispute.pk]),
    ]


def category_pages(w: World) -> list[str]:
    return [
        reverse("category-list"),
        reverse("category-detail", args=[w.category.pk]),  # with the plan form
        reverse("category-shop", args=[w.category.pk, w.shop.pk]),
    ]


@pytest.mark.parametrize(
    ("role", "pages"),
    [
        (X, consumer_pages),
        (OWNER, merchant_pages),
        (ARBITRATOR, arbitrator_pages),
        (CATEGORY_OP, category_pages),
    ],
    ids=["consumer", "merchant", "arbitrator", "category_operator"],
)
def test_every_main_page_passes_axe_on_desktop_and_phone(
    browser,  # noqa: F811
    live_server,
    role: str,
    pages: Pages,
):
    # Given the world, and the role logged in
    w = build_world()
    page = log_in(browser, live_server, role)
    page.wait_for_load_state()
    failures = []
    for viewport in (DESKTOP, PHONE):
        page.set_viewport_size(viewport)
        for path in pages(w):
            # when the page is shown at this size
            response = page.goto(f"{live_server.url}{path}")
            assert response.status == 200, f"{path}: {response.status}"
            # then axe finds nothing serious (all pages are checked before failing)
            violations = axe.run_axe(page)
            for v in violations:  # the lesser ones are printed (pytest -rP shows them)
                if v["impact"] not in axe.FAILING_IMPACTS:
                    print(f"{path} at {viewport['width']} px: [{v['impact']}] {v['id']}")
            bad = [v for v in violations if v["impact"] in axe.FAILING_IMPACTS]
            if bad:
                failures.append(axe.describe(bad, f"{path} at {viewport['width']} px"))
            # and nothing is wider than the screen (a wide table scrolls inside itself)
            width = page.evaluate("document.documentElement.scrollWidth")
            if width > viewport["width"]:
                culprits = page.evaluate(WIDER_THAN_SCREEN)
                failures.append(f"{path} is {width} px wide at {viewport['width']} px: {culprits}")
    assert not failures, "\n\n".join(failures)


def test_the_login_page_passes_axe(browser, live_server):  # noqa: F811
    page = browser.new_page(locale="zh-CN")
    for viewport in (DESKTOP, PHONE):
        page.set_viewport_size(viewport)
        page.goto(f"{live_server.url}/accounts/login/")
        axe.check(page, f"the login page at {viewport['width']} px")


def test_the_keyboard_skips_to_the_content_and_shows_where_it_is(
    browser,  # noqa: F811
    live_server,
):
    # Given the consumer on their invoices, when they press Tab once, the skip link has the
    # focus, is visible and has a focus ring
    w = build_world()
    page = log_in(browser, live_server, X)
    page.goto(f"{live_server.url}{reverse('my-invoice', args=[w.pending.pk])}")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    assert page.locator(".skip-link").bounding_box()["y"] >= 0
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline == "solid"
    # when they press Enter, the focus is on the page's content, past the top bar
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "content"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.closest('main') !== null")
