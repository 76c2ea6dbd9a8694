"""Spec 5, 6, 9 through the pages: the consumer's dispute section on the invoice detail page,
the merchant's dispute list and answer page, evidence drafts, and scoping (404 for others)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from core.models import HistoryEntry
from disputes.models import Dispute, Evidence
from tests.factories import PDF_BYTES, InvoiceRequestFactory, ShopFactory, UserFactory, merchant_of

from .factories import (
    DisputeFactory,
    EvidenceFactory,
    RefusedRequestFactory,
    dispute_in,
    make_ticket,
    urge_request,
)

pytestmark = pytest.mark.django_db

OPEN_TICKET = {"state": "awaiting_reply", "sla": "", "resolution": ""}


def log_in(client, user) -> None:
    """`user` signed in, reading the pages in English."""
    client.force_login(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"


def page(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def my_invoice(r) -> str:
    return reverse("my-invoice", args=[r.pk])


# --- the consumer's invoice detail page --------------------------------------------------------


def test_the_refused_dispute_button_shows_only_after_a_refusal(client):
    # given a pending request and a refused one of the same consumer
    pending = InvoiceRequestFactory()
    refused = RefusedRequestFactory(order__consumer=pending.consumer)
    client.force_login(pending.consumer)
    # then only the refused one offers the refused-invoice dispute, and neither the urge one
    assert 'id="open-refused"' not in page(client, my_invoice(pending))
    html = page(client, my_invoice(refused))
    assert 'id="open-refused"' in html and 'id="open-urge"' not in html


def test_a_consumer_opens_a_refused_invoice_dispute_from_the_detail_page(client):
    # given a refused request
    refused = RefusedRequestFactory()
    log_in(client, refused.consumer)
    # when the consumer sends the open-dispute form from the detail page
    response = client.post(
        reverse("my-dispute-open", args=[refused.pk]),
        {"kind": "refused", "complaint": "  商家拒绝开票的理由不成立  "},
    )
    # then the dispute is open, awaiting the merchant, and the page shows its progress
    dispute = Dispute.objects.for_system().get(request=refused)
    assert response.status_code == 302 and response.url == reverse("my-dispute", args=[dispute.pk])
    assert dispute.state == "awaiting_merchant" and dispute.complaint == "商家拒绝开票的理由不成立"
    html = page(client, my_invoice(refused))
    assert "awaiting the merchant&#x27;s answer" in html
    due = timezone.localtime(dispute.merchant_due_at, timezone.get_default_timezone())
    assert due.strftime("%Y-%m-%d %H:%M") in html and "(China time)" in html
    # and the button is gone: one open dispute per request and kind
    assert 'id="open-refused"' not in html


def test_an_empty_complaint_is_refused_with_a_message_and_opens_nothing(client):
    refused = RefusedRequestFactory()
    log_in(client, refused.consumer)
    response = client.post(
        reverse("my-dispute-open", args=[refused.pk]), {"kind": "refused", "complaint": "  "}
    )
    assert response.status_code == 400 and "Say what is wrong." in response.content.decode()
    assert not Dispute.objects.for_system().exists()


def test_the_urge_dispute_button_shows_only_after_the_ticket_has_an_outcome(client):
    # given a request with no ticket, one whose ticket is still in its window, one answered
    no_ticket = InvoiceRequestFactory()
    waiting = InvoiceRequestFactory(order__consumer=no_ticket.consumer)
    make_ticket(waiting, opened_at=timezone.now() - timedelta(hours=1), **OPEN_TICKET)
    answered = urge_request(sla="late")
    client.force_login(no_ticket.consumer)
    # then neither of the first two shows the urge dispute button
    assert 'id="open-urge"' not in page(client, my_invoice(no_ticket))
    assert 'id="open-urge"' not in page(client, my_invoice(waiting))
    # and the answered ticket does; opening it sends the dispute straight to the platform
    client.force_login(answered.consumer)
    assert 'id="open-urge"' in page(client, my_invoice(answered))
    client.post(
        reverse("my-dispute-open", args=[answered.pk]),
        {"kind": "urge", "complaint": "商家答复超时"},
    )
    assert Dispute.objects.for_system().get(request=answered).state == "awaiting_platform"


def test_opening_an_urge_dispute_without_a_ticket_is_refused(client):
    request = InvoiceRequestFactory()
    log_in(client, request.consumer)
    response = client.post(
        reverse("my-dispute-open", args=[request.pk]), {"kind": "urge", "complaint": "x"}
    )
    assert response.status_code == 409
    assert "This request has no urge ticket to dispute." in response.content.decode()
    assert not Dispute.objects.for_system().exists()


# --- the full refused-invoice flow ------------------------------------------------------------


def test_merchant_answers_without_the_date_then_correctly_and_the_consumer_accepts(client):
    # given a consumer's open refused-invoice dispute and an owner of the shop
    dispute = DisputeFactory()
    owner = merchant_of(dispute.shop)
    log_in(client, owner)
    answer_url = reverse("merchant-dispute-answer", args=[dispute.pk])
    history_before = HistoryEntry.objects.for_system().count()

    # when the merchant picks 另行约定开票日期 but leaves the date empty
    response = client.post(answer_url, {"plan": "another_date", "note": "", "confirm": "on"})
    # then the page says so in the page's language, and nothing changes
    assert response.status_code == 400
    with translation.override("en"):
        assert translation.gettext("This plan needs the agreed issue date.") in (
            response.content.decode()
        )
    dispute.refresh_from_db()
    assert dispute.state == "awaiting_merchant" and dispute.plan == "" and not dispute.answered_at
    assert HistoryEntry.objects.for_system().count() == history_before

    # when the merchant sends it again with a date in the future
    date = timezone.localdate() + timedelta(days=3)
    response = client.post(
        answer_url,
        {"plan": "another_date", "plan_date": date.isoformat(), "note": "", "confirm": "on"},
    )
    # then the plan is sent and the consumer has to decide
    assert response.status_code == 302
    dispute.refresh_from_db()
    assert dispute.state == "awaiting_consumer" and dispute.plan_date == date

    # when the consumer accepts it from the invoice detail page
    client.force_login(dispute.consumer)
    html = page(client, my_invoice(dispute.request))
    assert "Another issue date agreed" in html and date.isoformat() in html
    response = client.post(
        reverse("my-dispute-accept", args=[dispute.pk]), {"next": my_invoice(dispute.request)}
    )
    # then the dispute is closed as settled and the consumer is back on the detail page
    assert response.status_code == 302 and response.url == my_invoice(dispute.request)
    dispute.refresh_from_db()
    assert dispute.state == "closed" and dispute.outcome == "settled"


def test_the_answer_form_needs_an_explicit_confirmation(client):
    dispute = DisputeFactory()
    client.force_login(merchant_of(dispute.shop))
    response = client.post(
        reverse("merchant-dispute-answer", args=[dispute.pk]),
        {"plan": "cannot_issue", "note": "税控设备故障"},
    )
    assert response.status_code == 400
    assert Dispute.objects.for_system().get(pk=dispute.pk).state == "awaiting_merchant"


def test_the_answer_form_shows_what_each_plan_requires_before_sending(client):
    dispute = DisputeFactory()
    log_in(client, merchant_of(dispute.shop))
    html = page(client, reverse("merchant-dispute", args=[dispute.pk]))
    for value in ("issued", "no_invoice_needed", "cannot_issue", "another_date", "platform_judge"):
        assert f'name="plan" value="{value}"' in html
    assert 'value="another_date" data-needs-date="1"' in html
    assert "an issue date in the future" in html and "a note" in html
    assert "your evidence" in html and "the invoice uploaded on a re-issue request" in html
    assert "Send the answer — final" in html


def test_a_viewer_sees_the_dispute_but_cannot_answer(client):
    dispute = DisputeFactory()
    viewer = merchant_of(dispute.shop, role="viewer")
    log_in(client, viewer)
    html = page(client, reverse("merchant-dispute", args=[dispute.pk]))
    assert "can view disputes but not answer them" in html and 'name="plan"' not in html
    response = client.post(
        reverse("merchant-dispute-answer", args=[dispute.pk]),
        {"plan": "cannot_issue", "note": "x", "confirm": "on"},
    )
    assert response.status_code == 403
    response = client.post(reverse("merchant-evidence-add", args=[dispute.pk]), {"text": "x"})
    assert response.status_code == 403
    assert Dispute.objects.for_system().get(pk=dispute.pk).state == "awaiting_merchant"
    assert not Evidence.objects.for_system().exists()


def test_the_consumer_rejects_with_a_reason_and_the_platform_judges(client):
    dispute = dispute_in(Dispute.State.AWAITING_CONSUMER)
    log_in(client, dispute.consumer)
    url = reverse("my-dispute-reject", args=[dispute.pk])
    # without a reason: an error, nothing changes
    response = client.post(url, {"note": ""})
    assert response.status_code == 400 and "This plan needs a note." in response.content.decode()
    assert Dispute.objects.for_system().get(pk=dispute.pk).state == "awaiting_consumer"
    # with one: the platform judges
    response = client.post(url, {"note": "设备故障不是理由"})
    assert response.status_code == 302
    dispute.refresh_from_db()
    assert dispute.state == "awaiting_platform" and dispute.consumer_note == "设备故障不是理由"
    html = page(client, reverse("my-dispute", args=[dispute.pk]))
    assert "awaiting the platform&#x27;s judgment" in html and "platform" in html


def test_a_judged_dispute_shows_the_verdict_and_the_written_reason_to_both_sides(client):
    now = timezone.now()
    dispute = dispute_in(
        Dispute.State.CLOSED,
        outcome=Dispute.Outcome.JUDGED,
        verdict="liable",
        reason_code="refusal_unjustified",
        reason="拒绝理由不成立，商家应开票",
        judged_at=now,
    )
    log_in(client, dispute.consumer)
    html = page(client, my_invoice(dispute.request))
    assert "merchant liable" in html and "拒绝理由不成立，商家应开票" in html
    assert "the refusal had no valid ground" in html
    client.force_login(merchant_of(dispute.shop))
    html = page(client, reverse("merchant-dispute", args=[dispute.pk]))
    assert "merchant liable" in html and "拒绝理由不成立，商家应开票" in html
    html = page(client, reverse("merchant-request", args=[dispute.request_id]))
    assert reverse("merchant-dispute", args=[dispute.pk]) in html


# --- evidence ---------------------------------------------------------------------------------


def test_the_merchant_drafts_evidence_removes_a_piece_and_submits_once(client):
    dispute = DisputeFactory()
    owner = merchant_of(dispute.shop)
    log_in(client, owner)
    add = reverse("merchant-evidence-add", args=[dispute.pk])
    client.post(add, {"text": "聊天记录：消费者同意不开票"})
    client.post(add, {"file": SimpleUploadedFile("chat.pdf", PDF_BYTES, "application/pdf")})
    client.post(add, {"text": "写错了"})
    drafts = list(Evidence.objects.for_system().filter(dispute=dispute).order_by("pk"))
    assert len(drafts) == 3 and all(e.is_draft for e in drafts)
    # an empty draft is refused with the service's message
    response = client.post(add, {"text": ""})
    assert response.status_code == 400 and "Write something or attach a file." in (
        response.content.decode()
    )
    # the file can be downloaded by its side
    assert client.get(reverse("dispute-evidence-file", args=[drafts[1].pk])).status_code == 200
    # remove the mistake, submit the rest
    client.post(reverse("merchant-evidence-remove", args=[dispute.pk, drafts[2].pk]))
    response = client.post(reverse("merchant-evidence-submit", args=[dispute.pk]))
    assert response.status_code == 302
    assert (
        Evidence.objects.for_system().filter(dispute=dispute, submitted_at__isnull=False).count()
        == 2
    )
    # submitting again is refused, and no more drafts can be added
    response = client.post(reverse("merchant-evidence-submit", args=[dispute.pk]), follow=True)
    assert "already submitted" in response.content.decode()
    html = page(client, reverse("merchant-dispute", args=[dispute.pk]))
    assert 'class="evidence-add"' not in html and "evidence was submitted" in html


def test_the_consumer_does_not_see_the_merchants_drafts_until_submitted(client):
    dispute = DisputeFactory()
    EvidenceFactory(dispute=dispute, author=merchant_of(dispute.shop), text="商家草稿")
    client.force_login(dispute.consumer)
    assert "商家草稿" not in page(client, my_invoice(dispute.request))
    Evidence.objects.for_system().update(submitted_at=timezone.now())
    assert "商家草稿" in page(client, my_invoice(dispute.request))


def test_the_consumer_adds_and_submits_evidence_from_the_detail_page(client):
    dispute = DisputeFactory()
    client.force_login(dispute.consumer)
    back = my_invoice(dispute.request)
    response = client.post(
        reverse("my-evidence-add", args=[dispute.pk]), {"text": "订单截图", "next": back}
    )
    assert response.status_code == 302 and response.url == back
    client.post(reverse("my-evidence-submit", args=[dispute.pk]), {"next": back})
    assert Evidence.objects.for_system().get(dispute=dispute).party == "consumer"
    assert Evidence.objects.for_system().get(dispute=dispute).submitted_at is not None


def test_the_no_fault_plan_needs_evidence_and_then_goes_to_the_platform(client):
    dispute = DisputeFactory()
    log_in(client, merchant_of(dispute.shop))
    answer = {"plan": "platform_judge", "note": "消费者同意不开票", "confirm": "on"}
    url = reverse("merchant-dispute-answer", args=[dispute.pk])
    response = client.post(url, answer)
    assert response.status_code == 400 and "This plan needs your evidence" in (
        response.content.decode()
    )
    client.post(reverse("merchant-evidence-add", args=[dispute.pk]), {"text": "聊天记录"})
    assert client.post(url, answer).status_code == 302
    dispute.refresh_from_db()
    assert dispute.state == "awaiting_platform" and dispute.merchant_evidence_submitted_at


# --- scoping (spec 9) --------------------------------------------------------------------------


def test_another_consumers_dispute_is_a_404_on_every_page(client):
    dispute = dispute_in(Dispute.State.AWAITING_CONSUMER)
    evidence = EvidenceFactory(dispute=dispute, party="consumer", author=dispute.consumer)
    client.force_login(UserFactory())
    pk = dispute.pk
    assert client.get(reverse("my-dispute", args=[pk])).status_code == 404
    assert client.get(reverse("my-dispute-open", args=[dispute.request_id])).status_code == 404
    for name, args, data in [
        ("my-dispute-open", [dispute.request_id], {"kind": "refused", "complaint": "x"}),
        ("my-dispute-accept", [pk], {}),
        ("my-dispute-reject", [pk], {"note": "x"}),
        ("my-dispute-withdraw", [pk], {}),
        ("my-evidence-add", [pk], {"text": "x"}),
        ("my-evidence-remove", [pk, evidence.pk], {}),
        ("my-evidence-submit", [pk], {}),
    ]:
        assert client.post(reverse(name, args=args), data).status_code == 404, name
    assert client.get(reverse("dispute-evidence-file", args=[evidence.pk])).status_code == 404
    assert reverse("my-dispute", args=[pk]) not in page(client, reverse("my-disputes"))
    dispute.refresh_from_db()
    assert dispute.state == "awaiting_consumer" and Evidence.objects.for_system().count() == 1


def test_another_shops_dispute_is_a_404_on_every_merchant_page(client):
    dispute = DisputeFactory()
    evidence = EvidenceFactory(dispute=dispute, author=merchant_of(dispute.shop))
    client.force_login(merchant_of(ShopFactory()))
    pk = dispute.pk
    assert client.get(reverse("merchant-dispute", args=[pk])).status_code == 404
    for name, args, data in [
        ("merchant-dispute-answer", [pk], {"plan": "cannot_issue", "note": "x", "confirm": "on"}),
        ("merchant-evidence-add", [pk], {"text": "x"}),
        ("merchant-evidence-remove", [pk, evidence.pk], {}),
        ("merchant-evidence-submit", [pk], {}),
    ]:
        assert client.post(reverse(name, args=args), data).status_code == 404, name
    assert client.get(reverse("dispute-evidence-file", args=[evidence.pk])).status_code == 404
    assert reverse("merchant-dispute", args=[pk]) not in page(client, reverse("merchant-disputes"))
    # and the shop's own consumer is not its merchant either
    client.force_login(dispute.consumer)
    assert client.get(reverse("merchant-dispute", args=[pk])).status_code == 404
    dispute.refresh_from_db()
    assert dispute.state == "awaiting_merchant" and Evidence.objects.for_system().count() == 1


# --- lists -------------------------------------------------------------------------------------


def test_the_merchant_list_shows_open_disputes_first_by_deadline(client):
    shop = ShopFactory()
    now = timezone.now()

    def of_shop(state, **kw):
        return dispute_in(state, request=RefusedRequestFactory(order__shop=shop), **kw)

    closed = of_shop(Dispute.State.CLOSED)
    later = of_shop(Dispute.State.AWAITING_MERCHANT, merchant_due_at=now + timedelta(hours=20))
    sooner = of_shop(Dispute.State.AWAITING_MERCHANT, merchant_due_at=now + timedelta(hours=2))
    client.force_login(merchant_of(shop))
    html = page(client, reverse("merchant-disputes"))
    positions = [html.index(reverse("merchant-dispute", args=[d.pk])) for d in (sooner, later)]
    assert positions == sorted(positions)
    assert html.index(reverse("merchant-dispute", args=[closed.pk])) > positions[-1]
    open_only = page(client, reverse("merchant-disputes") + "?open=1")
    assert reverse("merchant-dispute", args=[closed.pk]) not in open_only


def _queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("side", ["merchant", "consumer"])
def test_the_dispute_lists_use_a_constant_number_of_queries(
    client, side, django_assert_max_num_queries
):
    shop, consumer = ShopFactory(), UserFactory()
    user = merchant_of(shop) if side == "merchant" else consumer
    url = reverse("merchant-disputes" if side == "merchant" else "my-disputes")

    def add(n: int) -> None:
        for _ in range(n):
            DisputeFactory(
                request=RefusedRequestFactory(order__shop=shop, order__consumer=consumer)
            )

    client.force_login(user)
    # (a consumer's top bar also asks whether they operate a category)
    bound = 6 if side == "merchant" else 7
    add(5)
    with django_assert_max_num_queries(bound):
        assert client.get(url).status_code == 200
    few = _queries(client, url)
    add(25)
    with django_assert_max_num_queries(bound):
        assert client.get(url).status_code == 200
    assert _queries(client, url) == few
