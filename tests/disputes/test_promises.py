"""Spec 4.5, 5, 8: an accepted 另行约定开票日期 plan is a promise, tracked like a ticket's: kept by
an invoice issued before the end of the agreed date in China time, else broken at that instant
(a history entry, the consumer told, one broken-promise penalty), and the consumer may then
reopen the dispute to the platform in one click."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile

from core.errors import Conflict
from core.models import HistoryEntry, OutboxMessage
from disputes import services
from disputes.models import Dispute
from disputes.rules import may_reopen
from invoices import services as invoice_services
from penalties.models import Penalty
from tests.factories import PDF_BYTES, InvoiceRequestFactory, UserFactory, merchant_of

from .factories import DisputeFactory

pytestmark = pytest.mark.django_db

CN = ZoneInfo("Asia/Shanghai")
T0 = datetime(2025, 3, 1, 10, 0, tzinfo=CN)  # the dispute opens, the merchant answers
AGREED = date(2025, 3, 10)  # 另行约定开票日期
LAST_SECOND = datetime(2025, 3, 10, 23, 59, 59, tzinfo=CN)
END = datetime(2025, 3, 11, 0, 0, 0, tzinfo=CN)  # the first instant after the agreed date
SECOND = timedelta(seconds=1)


def enforce(at: datetime) -> dict:
    with time_machine.travel(at, tick=False):
        return services.disputes_enforce_deadlines()


@pytest.fixture
def d():
    """A refused-invoice dispute whose plan 另行约定开票日期 (for AGREED) the consumer accepted."""
    with time_machine.travel(T0, tick=False):
        dispute = DisputeFactory()
        owner = merchant_of(dispute.shop)
        services.dispute_answer(
            dispute=dispute, by=owner, plan="another_date", plan_date=AGREED, note="10号开"
        )
    with time_machine.travel(T0 + timedelta(hours=1), tick=False):
        return services.dispute_accept(dispute=dispute, by=dispute.consumer)


def issue_reissue(d: Dispute, at: datetime) -> None:
    """The consumer asks for a re-issue (补开) of the refused request; the shop uploads it."""
    with time_machine.travel(at, tick=False):
        reissue = InvoiceRequestFactory(
            order=d.request.order, kind="reissue", reissue_of=d.request, consumer=d.consumer
        )
        invoice_services.invoice_request_issue(
            invoice_request=reissue,
            by=merchant_of(d.shop),
            file=SimpleUploadedFile("i.pdf", PDF_BYTES),
            invoice_number="12345678901234567890",
        )


def fresh(d: Dispute) -> Dispute:
    return Dispute.objects.for_system().get(pk=d.pk)


def penalties(d: Dispute) -> list[tuple[str, int]]:
    return list(Penalty.objects.for_system().filter(dispute_id=d.pk).values_list("kind", "shop_id"))


def history(d: Dispute, action: str):
    return HistoryEntry.objects.for_system().filter(
        subject="dispute", subject_id=d.pk, action=action
    )


def told(d: Dispute) -> list[str]:
    return list(
        OutboxMessage.objects.filter(key=f"dispute:{d.pk}:promise-broken").values_list(
            "kind", flat=True
        )
    )


# --- the promise binds on acceptance ----------------------------------------------------------


def test_accepting_the_plan_makes_a_pending_promise_ending_at_midnight_china_time(d):
    assert (d.state, d.outcome, d.promise_state) == ("closed", "settled", "pending")
    assert d.promise_due_at == END


def test_a_plan_that_counts_as_accepted_binds_too():
    # given a plan with a date the consumer never answers
    with time_machine.travel(T0, tick=False):
        d = DisputeFactory()
        services.dispute_answer(
            dispute=d, by=merchant_of(d.shop), plan="another_date", plan_date=AGREED
        )
    # when the consumer's window lapses (the job)
    result = enforce(fresh(d).consumer_due_at + SECOND)
    # then the settled dispute's promise is pending
    assert result["settled_by_lapse"] == 1
    assert (fresh(d).outcome, fresh(d).promise_state) == ("settled_by_lapse", "pending")


def test_other_plans_make_no_promise():
    with time_machine.travel(T0, tick=False):
        d = DisputeFactory()
        services.dispute_answer(dispute=d, by=merchant_of(d.shop), plan="cannot_issue", note="x")
        d = services.dispute_accept(dispute=fresh(d), by=d.consumer)
    assert (d.promise_state, d.promise_due_at) == ("", None)


# --- broken at its exact end ------------------------------------------------------------------


def test_at_2359_59_on_the_agreed_date_the_promise_is_not_broken(d):
    result = enforce(LAST_SECOND)
    assert (result["promises_broken"], result["promises_kept"]) == (0, 0)
    assert fresh(d).promise_state == "pending"
    assert penalties(d) == [] and told(d) == []


def test_at_midnight_after_the_agreed_date_without_an_invoice_the_promise_is_broken(d):
    # when the job runs at 00:00:00 China time the day after the agreed date
    result = enforce(END)
    # then the promise is broken, with a history entry
    assert (result["promises_broken"], result["penalties"]) == (1, 1)
    d = fresh(d)
    assert (d.state, d.promise_state, d.promise_broken_at) == ("closed", "broken", END)
    entry = history(d, "plan_promise_broken").get()
    assert (entry.state_from, entry.state_to, entry.at) == ("pending", "broken", END)
    assert entry.data["plan_date"] == "2025-03-10"
    # a broken-promise penalty is proposed against the shop
    assert penalties(d) == [("broken_promise", d.shop_id)]
    assert Penalty.objects.for_system().get(dispute_id=d.pk).state == "proposed"
    # and the consumer is told, in the same transaction, under a unique key
    assert told(d) == ["dispute_promise_broken"]
    # and may reopen the dispute
    assert may_reopen(d)


def test_running_the_job_twice_breaks_once(d):
    enforce(END)
    again = enforce(END + timedelta(minutes=1))
    assert (again["promises_broken"], again.get("penalties", 0)) == (0, 0)
    assert len(penalties(d)) == 1 and len(told(d)) == 1
    assert history(d, "plan_promise_broken").count() == 1


def test_the_penalty_is_once_per_dispute_even_if_a_run_found_it_again(d):
    # a retry that found the same dispute pending again (e.g. a half-done run rolled back and
    # the penalty somehow there) still leaves one penalty: the unique (dispute, kind) key
    enforce(END)
    Dispute.objects.for_system().filter(pk=d.pk).update(promise_state="pending")
    enforce(END + SECOND)
    assert len(penalties(d)) == 1 and len(told(d)) == 1


# --- kept -------------------------------------------------------------------------------------


def test_an_invoice_issued_by_the_last_second_keeps_the_promise_at_the_upload(d):
    # when the shop uploads the re-issue's invoice at 23:59:59 on the agreed date
    issue_reissue(d, LAST_SECOND)
    # then the promise is kept at once, with a history entry
    d = fresh(d)
    assert d.promise_state == "kept"
    assert history(d, "plan_promise_kept").get().at == LAST_SECOND
    # and the job finds nothing to break
    assert enforce(END)["promises_broken"] == 0
    assert penalties(d) == [] and told(d) == [] and not may_reopen(fresh(d))


def test_an_invoice_issued_before_the_plan_was_accepted_is_found_by_the_job():
    # given the re-issue's invoice uploaded while the plan still awaited the consumer
    with time_machine.travel(T0, tick=False):
        d = DisputeFactory()
        services.dispute_answer(
            dispute=d, by=merchant_of(d.shop), plan="another_date", plan_date=AGREED
        )
    issue_reissue(d, T0 + timedelta(hours=1))
    with time_machine.travel(T0 + timedelta(hours=2), tick=False):
        services.dispute_accept(dispute=fresh(d), by=d.consumer)
    assert fresh(d).promise_state == "pending"
    # when the agreed date ends, then the job finds it kept
    result = enforce(END)
    assert (result["promises_kept"], result["promises_broken"]) == (1, 0)
    assert fresh(d).promise_state == "kept" and penalties(d) == []


def test_an_invoice_issued_at_midnight_is_too_late(d):
    # the upload at 00:00:00 does not keep it (the job has not run yet)
    issue_reissue(d, END)
    assert fresh(d).promise_state == "pending"
    # and the job, a minute later, finds it broken: the invoice came after the date
    assert enforce(END + timedelta(minutes=1))["promises_broken"] == 1
    assert fresh(d).promise_state == "broken"


# --- reopened ---------------------------------------------------------------------------------


def test_the_consumer_reopens_a_broken_promise_to_the_platform_in_one_click(d, arbitrator):
    enforce(END)
    # when the consumer reopens it
    with time_machine.travel(END + timedelta(hours=1), tick=False):
        d = services.dispute_reopen(dispute=fresh(d), by=d.consumer)
    # then it awaits the platform, proposed liable for the broken promise
    assert (d.state, d.outcome, d.closed_at, d.whose_move) == (
        "awaiting_platform",
        "",
        None,
        "platform",
    )
    assert (d.proposed_verdict, d.proposed_reason_code) == ("liable", "broken_promise")
    assert d.reopened_at == d.platform_since == END + timedelta(hours=1)
    entry = history(d, "reopened").get()
    assert (entry.state_from, entry.state_to, entry.actor_id) == (
        "closed",
        "awaiting_platform",
        d.consumer_id,
    )
    assert OutboxMessage.objects.filter(key=f"dispute:{d.pk}:escalated").count() == 1
    # and a second click is a Conflict
    with pytest.raises(Conflict):
        services.dispute_reopen(dispute=fresh(d), by=d.consumer)
    # when the arbitrator confirms the proposal, then the dispute is lost, and the shop still
    # has the one broken-promise penalty of this case (the judgment's reason names that kind)
    d = services.dispute_confirm_proposal(dispute=fresh(d), by=arbitrator)
    assert (d.state, d.verdict, d.reason_code) == ("closed", "liable", "broken_promise")
    assert penalties(d) == [("broken_promise", d.shop_id)]
    with pytest.raises(Conflict):  # judged: no settlement left to reopen
        services.dispute_reopen(dispute=fresh(d), by=d.consumer)


def test_a_kept_or_pending_promise_cannot_be_reopened(d):
    with pytest.raises(Conflict) as e:
        services.dispute_reopen(dispute=d, by=d.consumer)
    assert e.value.code == "not_reopenable"
    issue_reissue(d, LAST_SECOND)
    with pytest.raises(Conflict):
        services.dispute_reopen(dispute=fresh(d), by=d.consumer)
    assert fresh(d).state == "closed"


def test_only_the_disputes_consumer_reopens(d):
    enforce(END)
    for someone in (UserFactory(), merchant_of(d.shop)):
        with pytest.raises(PermissionDenied):
            services.dispute_reopen(dispute=fresh(d), by=someone)
    assert fresh(d).state == "closed"


def test_another_open_dispute_on_the_request_makes_reopening_a_conflict(d):
    enforce(END)
    DisputeFactory(request=d.request)  # a second refused-invoice dispute, open
    with pytest.raises(Conflict) as e:
        services.dispute_reopen(dispute=fresh(d), by=d.consumer)
    assert e.value.code == "dispute_open"
    assert fresh(d).state == "closed" and history(d, "reopened").count() == 0


def test_a_clear_case_is_judged_at_once_when_the_setting_says_so(d, settings):
    settings.JDPOP_AUTO_JUDGE_CLEAR_CASES = True
    enforce(END)
    d = services.dispute_reopen(dispute=fresh(d), by=d.consumer)
    assert (d.state, d.verdict, d.reason_code, d.judged_by) == (
        "closed",
        "liable",
        "broken_promise",
        None,
    )
    assert len(penalties(d)) == 1


# --- the page and the API -----------------------------------------------------------------------


def test_the_dispute_page_shows_the_button_and_the_button_reopens(client, d):
    client.force_login(d.consumer)
    page = client.get(f"/my/disputes/{d.pk}/")
    assert b"/reopen" not in page.content  # pending: nothing to reopen yet
    enforce(END)
    page = client.get(f"/my/disputes/{d.pk}/")
    assert f"/my/disputes/{d.pk}/reopen".encode() in page.content
    response = client.post(f"/my/disputes/{d.pk}/reopen")
    assert response.status_code == 302
    assert fresh(d).state == "awaiting_platform"


def test_the_api_reopens_and_then_refuses_with_409(client, d):
    enforce(END)
    client.force_login(d.consumer)
    url = f"/api/v1/consumer/disputes/{d.pk}/reopen/"
    response = client.post(url, content_type="application/json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["state"], body["promise_state"]) == ("awaiting_platform", "broken")
    assert client.post(url, content_type="application/json").status_code == 409


def test_the_consumer_and_the_staff_read_what_happened(d):
    from notifications.delivery import drain_outbox
    from notifications.models import Notification

    enforce(END)
    drain_outbox(now=END + timedelta(minutes=1))
    notes = Notification.objects.for_system().filter(kind="dispute_promise_broken")
    consumer = notes.get(user=d.consumer)
    assert "2025-03-10" in consumer.texts["en"]["body"]
    assert "send the dispute to the platform" in consumer.texts["en"]["body"]
    assert consumer.link == f"/my/disputes/{d.pk}/"
    owner = notes.exclude(user=d.consumer).first()
    assert owner is not None and "broken-promise penalty" in owner.texts["en"]["body"]


def test_a_refused_exchange_is_settled_by_a_later_exchange_of_the_same_invoice():
    from .factories import RefusedRequestFactory

    # given a refused exchange (换开) of an issued invoice, disputed, a date agreed and accepted
    with time_machine.travel(T0, tick=False):
        original = InvoiceRequestFactory(issued=True)
        refused = RefusedRequestFactory(
            order=original.order,
            kind="exchange",
            exchange_reason="wrong_title",
            reissue_of=original,
            consumer=original.consumer,
        )
        d = DisputeFactory(request=refused)
        services.dispute_answer(
            dispute=d, by=merchant_of(d.shop), plan="another_date", plan_date=AGREED
        )
        services.dispute_accept(dispute=fresh(d), by=d.consumer)
    # when a later exchange of the same invoice is issued before the date ends
    with time_machine.travel(LAST_SECOND, tick=False):
        # (made by the factory, not the upload: only the job's SQL form can see it)
        InvoiceRequestFactory(
            issued=True,
            order=original.order,
            kind="exchange",
            exchange_reason="wrong_title",
            reissue_of=original,
            consumer=d.consumer,
        )
    # then the job finds the promise kept
    assert enforce(END)["promises_kept"] == 1
    assert fresh(d).promise_state == "kept"
