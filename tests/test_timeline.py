"""Timelines in words (issue 11): every history entry a consumer or a merchant reads is a
sentence in the page's language, naming the shop (never a staff login) to the consumer, with no
internal code; the admin shows the sentence beside the raw code."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.functional import Promise

from core.history import history_record
from core.models import HistoryEntry
from core.roles import ARBITRATOR_GROUP
from core.timeline import AUDIENCES, Reader, describe, format_day, known_actions, timeline
from disputes.models import Dispute
from invoices.models import InvoiceRequest
from invoices.services import invoice_request_refuse
from penalties.models import Penalty
from tests.factories import InvoiceRequestFactory, ShopFactory, UserFactory, merchant_of
from tickets.models import UrgeTicket
from tickets.services import ticket_reply, ticket_urge

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent
APPS = ("core", "invoices", "tickets", "disputes", "penalties", "notifications", "categories")
CHINA = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 30, 9, 0, tzinfo=CHINA)


def actions_in_the_code() -> set[str]:
    """Every history action the code base writes, found in its source: `action="…"` (and the
    other branch of `… if … else "…"`), the SQL of the set-based jobs, the dispute transitions
    and the penalty decisions (`penalty_{state}`)."""
    found: set[str] = set()
    literal = re.compile(r'action="(\w+)"(?: if [\w.]+ else "(\w+)")?')
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            if path.name == "admin.py" or "migrations" in path.parts:
                continue  # admin action names are not history actions
            text = path.read_text()
            for pair in literal.findall(text):
                found.update(a for a in pair if a)
            found.update(re.findall(r"history=\(\"(\w+)\"", text))
            found.update(re.findall(r"history_insert\(\s*\"SELECT [^']*'\w+', [^']*'(\w+)'", text))
    found |= set(Dispute.TRANSITIONS)
    found |= {f"penalty_{s}" for s in Penalty.State.values if s != Penalty.State.PROPOSED}
    found.discard("store_true")
    return found


# one entry per action, with the data its writer stores
SAMPLES: dict[str, dict] = {
    "requested": {"state_to": "pending", "data": {"invoice_kind": "e_ordinary", "title": "示例"}},
    "reissue_requested": {"state_to": "pending", "data": {"invoice_kind": "vat_special"}},
    "category_plan_saved": {
        "data": {"month": "2026-11", "growth": "0.10", "targets": {"1": "9.00"}}
    },
    "exchange_requested": {
        "data": {"reason": "wrong_title", "note": "抬头写错", "invoice_number": "2611"}
    },
    "issued": {
        "state_from": "pending",
        "state_to": "issued",
        "data": {"invoice_number": "26110000000000000001", "check": "verified", "read": {}},
    },
    "refused": {"state_from": "pending", "state_to": "refused", "data": {"reason": "已退款"}},
    "cancelled": {"state_from": "pending", "state_to": "cancelled"},
    "cancelled_with_order": {
        "state_from": "pending",
        "state_to": "cancelled",
        "data": {"order_state": "returned"},
    },
    "replaced": {"data": {"by_request": 9, "invoice_number": "2612"}},
    "ticket_opened": {"subject": "ticket", "state_to": "awaiting_reply", "data": {"via": "job"}},
    "ticket_urged": {"subject": "ticket", "data": {"urge_count": 2}},
    "ticket_replied": {
        "subject": "ticket",
        "state_from": "awaiting_reply",
        "state_to": "answered",
        "data": {
            "resolution": "date_agreed",
            "note": "已与您协商",
            "promised_date": "2026-12-03",
            "late": False,
            "sla": "met",
        },
    },
    "ticket_reply_added": {
        "subject": "ticket",
        "data": {"resolution": "cannot_issue", "note": "无法开具", "late": True, "sla": "late"},
    },
    "ticket_breached": {
        "subject": "ticket",
        "state_from": "awaiting_reply",
        "state_to": "breached",
        "data": {"reply_due_at": "2026-11-29T01:00:00+00:00"},
    },
    "ticket_closed": {
        "subject": "ticket",
        "state_from": "awaiting_reply",
        "state_to": "closed",
        "data": {"promise_withdrawn": False},
    },
    "promise_broken": {
        "subject": "ticket",
        "state_from": "pending",
        "state_to": "broken",
        "data": {"promised_date": "2026-12-03"},
    },
    "penalty_false_reply": {"subject": "ticket", "data": {"penalty_id": 1, "note": "乱填"}},
    "penalty_confirmed": {
        "subject": "ticket",
        "state_from": "proposed",
        "state_to": "confirmed",
        "data": {"penalty_id": 1, "penalty_kind": "no_reply", "note": ""},
    },
    "penalty_waived": {
        "subject": "dispute",
        "state_from": "proposed",
        "state_to": "waived",
        "data": {"penalty_id": 1, "penalty_kind": "dispute_no_answer", "note": "系统故障"},
    },
    "opened": {
        "subject": "dispute",
        "state_to": "awaiting_merchant",
        "data": {
            "kind": "refused",
            "complaint": "理由不成立",
            "merchant_due_at": "2026-12-01T01:00:00+00:00",
        },
    },
    "settlement_proposed": {
        "subject": "dispute",
        "state_from": "awaiting_merchant",
        "state_to": "awaiting_consumer",
        "data": {
            "plan": "another_date",
            "plan_date": "2026-12-05",
            "note": "月初开",
            "consumer_due_at": "2026-12-03T01:00:00+00:00",
        },
    },
    "sent_to_platform": {
        "subject": "dispute",
        "state_from": "awaiting_merchant",
        "state_to": "awaiting_platform",
        "data": {"plan": "platform_judge", "plan_date": None, "note": "请平台判定"},
    },
    "merchant_timed_out": {
        "subject": "dispute",
        "state_from": "awaiting_merchant",
        "state_to": "awaiting_platform",
        "data": {"merchant_due_at": "2026-11-29T01:00:00+00:00"},
    },
    "settlement_accepted": {"subject": "dispute", "data": {"plan": "cannot_issue"}},
    "settlement_deemed_accepted": {"subject": "dispute", "data": {}},
    "settlement_rejected": {"subject": "dispute", "data": {"plan": "cannot_issue", "note": "不"}},
    "withdrawn": {"subject": "dispute", "data": {"note": ""}},
    "plan_promise_kept": {
        "subject": "dispute",
        "state_from": "pending",
        "state_to": "kept",
        "data": {"plan_date": "2026-12-03", "promise_due_at": "2026-12-03T16:00:00+00:00"},
    },
    "plan_promise_broken": {
        "subject": "dispute",
        "state_from": "pending",
        "state_to": "broken",
        "data": {"plan_date": "2026-12-03", "promise_due_at": "2026-12-03T16:00:00+00:00"},
    },
    "reopened": {
        "subject": "dispute",
        "state_from": "closed",
        "state_to": "awaiting_platform",
        "data": {"plan_date": "2026-12-03", "proposal": ["liable", "broken_promise"]},
    },
    "evidence_submitted": {
        "subject": "dispute",
        "data": {"party": "merchant", "evidence_ids": [1]},
    },
    "judged": {
        "subject": "dispute",
        "state_from": "awaiting_platform",
        "state_to": "closed",
        "data": {
            "verdict": "liable",
            "reason_code": "no_reply",
            "reason": "商家未回复",
            "proposal": ["liable", "no_reply"],
            "automatic": False,
        },
    },
    "proposal_updated": {
        "subject": "dispute",
        "data": {"before": ["needs_person", "contested"], "after": ["liable", "no_reply"]},
    },
    "staff_added": {"subject": "shop", "state_to": "operator", "data": {"username": "li"}},
    "staff_role_changed": {
        "subject": "shop",
        "state_from": "operator",
        "state_to": "viewer",
        "data": {"username": "li"},
    },
    "staff_removed": {"subject": "shop", "state_from": "viewer", "data": {"username": "li"}},
    **{
        a: {"subject": "shop", "data": {"endpoint_id": 1, "url": "https://example.com/hook"}}
        for a in (
            "webhook_registered",
            "webhook_secret_rotated",
            "webhook_enabled",
            "webhook_disabled",
            "webhook_deleted",
            "webhook_resent",
        )
    },
}

STAFF_LOGIN = "kefu-wang"
SHOP_NAME = "示例家电旗舰店"


def entry_for(action: str, actor=None) -> HistoryEntry:
    sample = {"subject": "request", "data": {}, **SAMPLES[action]}
    return HistoryEntry(
        request_id=None if sample["subject"] == "shop" else 1,
        subject_id=1,
        actor=actor,
        action=action,
        at=NOW,
        **sample,
    )


def codes() -> set[str]:
    """Internal words a sentence must never show."""
    return {
        *known_actions(),
        *InvoiceRequest.State.values,
        *UrgeTicket.State.values,
        *UrgeTicket.Resolution.values,
        *Dispute.State.values,
        *Dispute.Verdict.values,
        *Dispute.ReasonCode.values,
        *Penalty.Kind.values,
    }


def assert_words(text: str) -> None:
    assert text and text.strip() == text
    assert not re.search(r"\b[a-z]+_[a-z_]+\b", text), text  # no snake_case code
    assert "—" not in text and "{" not in text and "None" not in text, text
    for word in ("pending", "awaiting"):
        assert word not in text, text


def test_every_action_the_code_writes_is_described():
    in_code = actions_in_the_code()
    assert {"requested", "issued", "ticket_replied", "judged", "exchange_requested"} <= in_code
    assert in_code - known_actions() == set(), "describe these in the app's timeline.py"
    assert in_code <= set(SAMPLES), "add a sample entry for the table below"


@pytest.mark.parametrize("language", ["zh-hans", "en"])
@pytest.mark.parametrize("audience", AUDIENCES)
@pytest.mark.parametrize("action", sorted(SAMPLES))
def test_each_action_reads_as_a_sentence_without_codes(action, audience, language):
    staff = UserFactory(username=STAFF_LOGIN)
    with time_machine.travel(NOW, tick=False), translation.override(language):
        words = describe(entry_for(action, actor=staff), Reader(audience, SHOP_NAME))
    assert_words(words.text)  # (one-word codes such as "judged" are English words too)
    if audience == "consumer":
        assert STAFF_LOGIN not in words.text + words.note


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_an_unknown_action_still_reads_as_a_sentence(language):
    entry = HistoryEntry(
        request_id=1, subject="request", subject_id=1, action="frobnicated_xyz", at=NOW, data={}
    )
    with translation.override(language):
        for audience in AUDIENCES:
            text = describe(entry, Reader(audience, SHOP_NAME)).text
            assert_words(text)
            assert "frobnicated" not in text


def test_the_shops_reply_names_the_shop_the_answer_and_the_promised_day():
    staff = UserFactory(username=STAFF_LOGIN, first_name="小王")
    entry = entry_for("ticket_replied", actor=staff)
    with time_machine.travel(NOW, tick=False):
        with translation.override("zh-hans"):
            consumer = describe(entry, Reader("consumer", SHOP_NAME))
            merchant = describe(entry, Reader("merchant", SHOP_NAME))
        with translation.override("en"):
            english = describe(entry, Reader("consumer", SHOP_NAME))
    assert consumer.text.startswith(SHOP_NAME)
    assert "已协商开票时间" in consumer.text and "12 月 3 日" in consumer.text
    assert "date_agreed" not in consumer.text and STAFF_LOGIN not in consumer.text
    assert consumer.note == "已与您协商"
    assert merchant.text.startswith("小王")  # a colleague's name, for the shop's staff
    assert "3 Dec" in english.text and english.text.startswith(SHOP_NAME)


def test_days_are_written_for_the_language_in_china_time():
    with time_machine.travel(NOW, tick=False):
        with translation.override("zh-hans"):
            assert format_day(date(2026, 12, 3)) == "12 月 3 日"
            assert format_day(date(2025, 12, 3)) == "2025 年 12 月 3 日"
            # 2026-12-02 17:00 UTC is already 3 December in China
            assert format_day(datetime(2026, 12, 2, 17, tzinfo=ZoneInfo("UTC"))) == "12 月 3 日"
        with translation.override("en"):
            assert format_day(date(2026, 12, 3)) == "3 Dec"


def _story():
    """A request refused, re-requested, overdue, urged by the consumer and answered by a staff
    member with an agreed date: through the services."""
    shop = ShopFactory(name=SHOP_NAME)
    staff = merchant_of(shop, user__username=STAFF_LOGIN, user__first_name="小王")
    requested = timezone.now() - timedelta(days=12)
    r = InvoiceRequestFactory(order__shop=shop, requested_at=requested)
    history_record(
        request_id=r.pk,
        subject="request",
        subject_id=r.pk,
        actor=r.consumer,
        action="requested",
        state_to="pending",
        at=requested,
    )
    ticket = ticket_urge(invoice_request=r, by=r.consumer)
    ticket_reply(
        ticket=ticket,
        by=staff,
        resolution="date_agreed",
        note="已与您协商",
        promised_date=timezone.localdate() + timedelta(days=3),
    )
    return r, staff


def test_the_consumer_reads_the_story_in_words_with_the_shops_name(client):
    r, _staff = _story()
    client.force_login(r.consumer)
    page = client.get(reverse("my-invoice", args=[r.pk])).content.decode()
    assert SHOP_NAME in page and "已协商开票时间" in page
    assert STAFF_LOGIN not in page and "小王" not in page
    story = re.search(r'<ol class="timeline">(.*?)</ol>', page, re.S).group(1)
    assert SHOP_NAME in story and "12 月" in story
    for code in ("ticket_replied", "ticket_opened", "date_agreed", "awaiting_reply", "→", "—"):
        assert code not in story
    english = client.get(reverse("my-invoice", args=[r.pk]), HTTP_ACCEPT_LANGUAGE="en")
    assert "ticket_replied" not in english.content.decode()


def test_the_merchant_sees_the_colleagues_name(client):
    r, staff = _story()
    client.force_login(staff)
    page = client.get(reverse("merchant-request", args=[r.pk])).content.decode()
    assert "小王" in page and "ticket_replied" not in page


def test_a_refusal_reads_with_its_reason(client):
    shop = ShopFactory(name=SHOP_NAME)
    staff = merchant_of(shop, user__username=STAFF_LOGIN)
    r = InvoiceRequestFactory(order__shop=shop)
    invoice_request_refuse(invoice_request=r, by=staff, reason="订单已全额退款")
    lines = timeline(r.history.select_related("actor"), audience="consumer", shop_name=SHOP_NAME)
    assert lines[-1].text.startswith(SHOP_NAME) and lines[-1].text.endswith("订单已全额退款")


def test_the_admin_shows_the_sentence_beside_the_code(client):
    r, _staff = _story()
    arbitrator = UserFactory(is_staff=True)
    arbitrator.groups.add(Group.objects.get(name=ARBITRATOR_GROUP))
    client.force_login(arbitrator)
    page = client.get(reverse("admin:invoices_invoicerequest_change", args=[r.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    assert "<code>ticket_replied</code>" in html and "已协商开票时间" in html
    assert "ticket_replied" in html and SHOP_NAME in html
    listing = client.get(reverse("admin:core_historyentry_changelist")).content.decode()
    assert "ticket_replied" in listing and "已协商开票时间" in listing


def test_admin_titles_and_labels_are_translated(client):
    from tests.disputes.factories import dispute_in

    d = dispute_in("awaiting_merchant")
    with translation.override("zh-hans"):
        title = str(d)
        assert "awaiting_merchant" not in title and "refused" not in title
        assert "拒绝开票纠纷" in title and str(Dispute.State.AWAITING_MERCHANT.label) in title
    arbitrator = UserFactory(is_staff=True)
    arbitrator.groups.add(Group.objects.get(name=ARBITRATOR_GROUP))
    client.force_login(arbitrator)
    for url in (
        reverse("admin:disputes_dispute_change", args=[d.pk]),
        reverse("admin:invoices_invoicerequest_change", args=[d.request_id]),
    ):
        html = client.get(url).content.decode()
        labels = re.findall(r"<label[^>]*>([^<]+)</label>", html)
        assert labels, url
        for english in ("Shop", "Consumer", "Order", "Invoice request"):
            assert f"{english}:" not in labels, (url, english)
        assert "awaiting_merchant" not in re.search(r"<title>(.*?)</title>", html).group(1)
    # every label the admin shows of these models is a translatable verbose name
    for model in (Dispute, InvoiceRequest):
        for f in model._meta.get_fields():
            if f.concrete and not f.auto_created:
                assert isinstance(f.verbose_name, Promise), (model.__name__, f.name)


def test_sentences_follow_each_other_without_a_space_after_a_chinese_full_stop():
    from core.timeline import then

    assert then("您发起了拒绝开票纠纷。", "店铺须回复。") == "您发起了拒绝开票纠纷。店铺须回复。"
    assert then("You opened a dispute.", "The shop must answer.") == (
        "You opened a dispute. The shop must answer."
    )
