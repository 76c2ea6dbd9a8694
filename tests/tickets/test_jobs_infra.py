"""The urge-ticket jobs' machinery: reminders, the outbox drain, job runs, the commands, the
beat schedule and /healthz (spec 4, 9: jobs safe to run any time, any number of times)."""

from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend as LocmemBackend
from django.core.management import CommandError, call_command
from django.db import connections

from core.jobs import JOBS, PRUNE_EVERY, job_run
from core.models import JobRun, OutboxMessage, ShopMembership
from jdpop.celery import app as celery_app
from notifications.delivery import drain_outbox
from tests.factories import InvoiceRequestFactory, ShopFactory, merchant_of
from tickets.models import TicketReply, UrgeTicket
from tickets.reminders import send_ticket_reminders

pytestmark = pytest.mark.django_db

CHINA = ZoneInfo("Asia/Shanghai")
DUE = datetime(2025, 3, 10, 18, 0, tzinfo=CHINA)  # a ticket's reply deadline
H = timedelta(hours=1)
S = timedelta(seconds=1)


def open_ticket(*, due: datetime = DUE, shop=None, state: str = "awaiting_reply") -> UrgeTicket:
    """A ticket as the opening service leaves it (written directly: this file tests the jobs)."""
    r = InvoiceRequestFactory(**({"order__shop": shop} if shop else {}))
    return UrgeTicket.objects.create(
        request=r,
        shop=r.shop,
        state=state,
        opened_at=due - settings.JDPOP_REPLY_WINDOW,
        opened_via=UrgeTicket.OpenedVia.JOB,
        reply_due_at=due,
        answered_at=due - H if state == "answered" else None,
    )


def opened_message(ticket: UrgeTicket) -> OutboxMessage:
    """The message the opening transaction writes."""
    return OutboxMessage.objects.create(
        key=f"ticket:{ticket.pk}:opened",
        kind="ticket_opened",
        payload={
            "ticket_id": ticket.pk,
            "request_id": ticket.request_id,
            "shop_id": ticket.shop_id,
        },
        created_at=ticket.opened_at,
    )


def reminders_at(at: datetime) -> dict:
    with time_machine.travel(at, tick=False):
        return send_ticket_reminders(now=at)


def keys() -> list[str]:
    return sorted(OutboxMessage.objects.values_list("key", flat=True))


# --- reminders ------------------------------------------------------------------------------


def test_a_reminder_goes_12_hours_and_2_hours_before_the_deadline_each_once():
    ticket = open_ticket()
    twelve, two = f"ticket:{ticket.pk}:remind:12h", f"ticket:{ticket.pk}:remind:2h"

    assert reminders_at(DUE - 12 * H - S)["queued"] == 0
    assert reminders_at(DUE - 12 * H)["queued"] == 1
    assert keys() == [twelve]
    assert reminders_at(DUE - 12 * H)["queued"] == 0  # the same run again: nothing new
    assert reminders_at(DUE - 2 * H - S)["queued"] == 0
    assert reminders_at(DUE - 2 * H) == {"queued": 1, "queued_12h": 0, "queued_2h": 1}
    assert reminders_at(DUE - H)["queued"] == 0
    assert reminders_at(DUE)["queued"] == 0  # the deadline itself: too late to remind
    assert keys() == [twelve, two]
    message = OutboxMessage.objects.get(key=two)
    assert message.kind == "ticket_reminder" and message.created_at == DUE - 2 * H
    assert message.payload == {
        "ticket_id": ticket.pk,
        "request_id": ticket.request_id,
        "shop_id": ticket.shop_id,
        "lead": "2h",
    }


def test_a_ticket_first_seen_in_its_last_2_hours_gets_only_the_2_hour_reminder():
    ticket = open_ticket()
    reminders_at(DUE - H)
    assert keys() == [f"ticket:{ticket.pk}:remind:2h"]


def test_answered_and_breached_tickets_get_no_reminder():
    open_ticket(state="answered")
    assert reminders_at(DUE - 2 * H)["queued"] == 0


def test_reminders_go_in_batches_until_all_are_queued():
    tickets = [open_ticket(due=DUE - i * S) for i in range(5)]
    with time_machine.travel(DUE - 2 * H, tick=False):
        assert send_ticket_reminders(now=DUE - 2 * H, batch_size=2)["queued"] == 5
    assert len(keys()) == 5 and all(f"ticket:{t.pk}:remind:2h" in keys() for t in tickets)


def test_reminder_lead_times_are_a_setting(settings):
    settings.JDPOP_TICKET_REMINDERS = (timedelta(hours=6),)
    ticket = open_ticket()
    reminders_at(DUE - 6 * H)
    assert keys() == [f"ticket:{ticket.pk}:remind:6h"]


# --- the outbox drain -----------------------------------------------------------------------


def staffed_shop(*emails: str):
    shop = ShopFactory()
    for i, email in enumerate(emails):
        role = [ShopMembership.Role.OWNER, ShopMembership.Role.OPERATOR][min(i, 1)]
        merchant_of(shop, role=role, user__email=email)
    return shop


def test_drain_mails_the_shop_staff_once_in_chinese_first_with_the_china_time_deadline():
    shop = staffed_shop("owner@shop.example", "ops@shop.example")
    merchant_of(shop, role=ShopMembership.Role.VIEWER, user__email="")  # nowhere to send
    ticket = open_ticket(shop=shop)
    message = opened_message(ticket)

    with time_machine.travel(DUE - 20 * H, tick=False):
        counts = drain_outbox(now=DUE - 20 * H)
        assert counts == {"sent": 1, "skipped": 0, "failed": 0, "emails": 2}
        assert drain_outbox(now=DUE - 20 * H)["sent"] == 0

    # one e-mail to each member with an address, each to one person
    staff = mail.outbox
    assert sorted(m.to[0] for m in staff) == ["ops@shop.example", "owner@shop.example"]
    sent = staff[0]
    order = ticket.request.order.number
    assert order in sent.subject and "2025-03-10 18:00" in sent.subject
    assert "催开票工单" in sent.body and "2025-03-10 18:00" in sent.body
    assert f"/merchant/tickets/{ticket.pk}/" in sent.body
    message.refresh_from_db()
    assert message.sent_at == DUE - 20 * H and message.attempts == 1


def test_a_reminder_mail_says_how_long_is_left():
    ticket = open_ticket(shop=staffed_shop("owner@shop.example"))
    reminders_at(DUE - 2 * H)
    with time_machine.travel(DUE - 2 * H, tick=False):
        drain_outbox(now=DUE - 2 * H)
    assert len(mail.outbox) == 1
    assert ticket.request.order.number in mail.outbox[0].subject
    assert "2 hours" in mail.outbox[0].body


class PickyBackend(LocmemBackend):
    """Django's test mail box, except that one address always fails (a broken mail server)."""

    def send_messages(self, messages):
        if any("broken@" in to for m in messages for to in m.to):
            raise ConnectionRefusedError("mail server said no")
        return super().send_messages(messages)


def test_a_failing_send_is_recorded_and_retried_by_the_next_run_and_the_rest_still_go(settings):
    settings.EMAIL_BACKEND = f"{__name__}.PickyBackend"
    bad = opened_message(open_ticket(shop=staffed_shop("broken@shop.example")))
    good = opened_message(open_ticket(shop=staffed_shop("fine@shop.example")))

    counts = drain_outbox(now=DUE - 20 * H)
    assert (counts["sent"], counts["failed"]) == (1, 1)
    bad.refresh_from_db()
    assert bad.sent_at is None and bad.attempts == 1 and "mail server said no" in bad.last_error
    assert "fine@shop.example" in [m.to[0] for m in mail.outbox]
    mail.outbox.clear()

    assert drain_outbox(now=DUE - 20 * H)["failed"] == 1  # still broken: tried again
    bad.refresh_from_db()
    assert bad.attempts == 2

    membership = ShopMembership.objects.for_system().get(shop_id=bad.payload["shop_id"])
    membership.user.email = "mended@shop.example"
    membership.user.save()
    assert drain_outbox(now=DUE - 20 * H)["sent"] == 1
    bad.refresh_from_db()
    good.refresh_from_db()
    assert bad.sent_at and bad.last_error == "" and good.sent_at
    assert "mended@shop.example" in [m.to[0] for m in mail.outbox]
    assert "fine@shop.example" not in [m.to[0] for m in mail.outbox]  # not twice


def test_a_message_that_keeps_failing_is_given_up_after_the_maximum(settings):
    settings.EMAIL_BACKEND = f"{__name__}.PickyBackend"
    settings.JDPOP_OUTBOX_MAX_ATTEMPTS = 2
    bad = opened_message(open_ticket(shop=staffed_shop("broken@shop.example")))
    drain_outbox(now=DUE)
    drain_outbox(now=DUE)
    assert drain_outbox(now=DUE) == {"sent": 0, "skipped": 0, "failed": 0, "emails": 0}
    bad.refresh_from_db()
    assert bad.attempts == 2 and bad.sent_at is None


def test_a_ticket_answered_before_its_mail_goes_does_not_ask_the_staff_to_reply():
    ticket = open_ticket(shop=staffed_shop("owner@shop.example"))
    message = opened_message(ticket)
    UrgeTicket.objects.for_system().filter(pk=ticket.pk).update(
        state="answered", answered_at=DUE - 20 * H
    )
    drain_outbox(now=DUE - 20 * H)
    message.refresh_from_db()
    assert message.sent_at  # the consumer still hears that the shop was urged
    assert "owner@shop.example" not in [m.to[0] for m in mail.outbox]


def test_a_reminder_for_a_ticket_answered_meanwhile_is_not_sent():
    ticket = open_ticket(shop=staffed_shop("owner@shop.example"))
    reminders_at(DUE - 2 * H)
    UrgeTicket.objects.for_system().filter(pk=ticket.pk).update(
        state="answered", answered_at=DUE - 3 * H
    )
    reminder = OutboxMessage.objects.get(kind="ticket_reminder")
    assert drain_outbox(now=DUE - 2 * H)["skipped"] == 1
    reminder.refresh_from_db()
    assert reminder.sent_at and "no longer" in reminder.last_error


def test_a_shop_without_staff_e_mail_still_gets_the_event_in_the_inbox_and_is_not_retried():
    message = opened_message(open_ticket(shop=staffed_shop("")))
    assert drain_outbox(now=DUE)["sent"] == 1
    message.refresh_from_db()
    assert message.sent_at and message.last_error == ""


def test_an_unknown_kind_is_a_recorded_failure():
    m = OutboxMessage.objects.create(key="x:1", kind="carrier_pigeon", payload={}, created_at=DUE)
    assert drain_outbox(now=DUE)["failed"] == 1
    m.refresh_from_db()
    assert "carrier_pigeon" in m.last_error and m.sent_at is None


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_drains_at_once_send_each_message_once():
    shop = staffed_shop("owner@shop.example")
    messages = [opened_message(open_ticket(due=DUE + i * S, shop=shop)) for i in range(20)]
    barrier = threading.Barrier(2)
    results: list[dict] = []

    def drain() -> None:
        try:
            barrier.wait()
            results.append(drain_outbox(now=DUE))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=drain) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sum(r["sent"] for r in results) == 20, results
    assert len(mail.outbox) == 20
    assert OutboxMessage.objects.filter(sent_at__isnull=True).count() == 0
    assert {m.attempts for m in OutboxMessage.objects.filter(pk__in=[m.pk for m in messages])} == {
        1
    }


# --- job runs -------------------------------------------------------------------------------


def test_a_job_run_is_recorded_with_its_counts():
    now = DUE
    with time_machine.travel(now, tick=False):
        result = job_run("send_ticket_reminders", lambda *, now: {"queued": 3}, now=now)
    assert result["job"] == "send_ticket_reminders" and result["queued"] == 3
    assert result["as_of"] == "2025-03-10T18:00:00+08:00"
    run = JobRun.objects.get()
    assert (run.name, run.ok, run.counts, run.error) == (
        "send_ticket_reminders",
        True,
        {"queued": 3},
        "",
    )
    assert run.as_of == run.started_at == run.finished_at == now


def test_a_failing_job_is_recorded_and_raised():
    def boom(*, now):
        raise RuntimeError("the database went away")

    with pytest.raises(RuntimeError):
        job_run("drain_outbox", boom, now=DUE)
    run = JobRun.objects.get()
    assert run.ok is False and run.finished_at and "the database went away" in run.error


def test_runs_older_than_the_setting_are_pruned_now_and_then(settings):
    settings.JDPOP_JOB_RUNS_KEEP_DAYS = 30
    month_ago = DUE - timedelta(days=31)
    old = JobRun.objects.create(name="drain_outbox", as_of=month_ago, started_at=month_ago)
    while True:
        recent = JobRun.objects.create(name="drain_outbox", as_of=DUE - H, started_at=DUE - H)
        if (recent.pk + 1) % PRUNE_EVERY == 0:
            break
    with time_machine.travel(DUE, tick=False):
        job_run("drain_outbox", lambda *, now: {}, now=DUE)
    assert not JobRun.objects.filter(pk=old.pk).exists()
    assert JobRun.objects.filter(pk=recent.pk).exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_start_of_a_run_is_committed_before_the_work():
    seen: list[int] = []

    def look_from_another_connection(*, now):
        def look() -> None:
            try:
                seen.append(JobRun.objects.filter(ok__isnull=True).count())
            finally:
                connections.close_all()

        t = threading.Thread(target=look)
        t.start()
        t.join(10)
        return {}

    job_run("drain_outbox", look_from_another_connection, now=DUE)
    assert seen == [1]


def test_a_task_runs_its_job_as_of_now_and_records_it():
    ticket = open_ticket()
    with time_machine.travel(DUE - 2 * H, tick=False):
        result = celery_app.tasks["tickets.send_ticket_reminders"]()
    assert result["queued"] == 1 and keys() == [f"ticket:{ticket.pk}:remind:2h"]
    assert JobRun.objects.get().as_of == DUE - 2 * H


# --- management commands --------------------------------------------------------------------


def run_command(name: str, *args: str) -> dict:
    out = StringIO()
    call_command(name, *args, stdout=out)
    lines = out.getvalue().splitlines()
    assert len(lines) == 1, lines
    return json.loads(lines[0])


def test_the_reminder_command_honours_as_of_in_china_time():
    ticket = open_ticket()
    result = run_command("send_ticket_reminders", "--as-of", "2025-03-10T06:00:00")  # DUE − 12 h
    assert result["job"] == "send_ticket_reminders" and result["queued"] == 1
    assert result["as_of"] == "2025-03-10T06:00:00+08:00"
    assert keys() == [f"ticket:{ticket.pk}:remind:12h"]
    assert JobRun.objects.get().as_of == DUE - 12 * H


def test_an_as_of_with_an_offset_is_taken_as_given():
    result = run_command("drain_outbox", "--as-of", "2025-03-09T22:00:00+00:00")
    assert result["as_of"] == "2025-03-10T06:00:00+08:00" and result["sent"] == 0


def test_a_bad_as_of_is_refused():
    with pytest.raises(CommandError, match="ISO 8601"):
        call_command("drain_outbox", "--as-of", "next tuesday")


@pytest.mark.parametrize("job", list(JOBS))
def test_every_job_has_a_command_that_prints_one_json_line(job):
    result = run_command(job, "--as-of", "2025-03-10T06:00:00")
    assert result["job"] == job and result["as_of"] == "2025-03-10T06:00:00+08:00"
    assert JobRun.objects.get().ok is True


# --- beat -----------------------------------------------------------------------------------


def test_every_job_is_a_registered_task_on_the_beat_schedule_expiring_before_its_next_run():
    from django_celery_beat.schedulers import DatabaseScheduler

    from jdpop.celery import app

    app.loader.import_default_modules()
    for job in JOBS.values():
        name = job.task
        assert name in app.tasks
        entry = settings.CELERY_BEAT_SCHEDULE[name]
        # As beat syncs it into the database (where the admin can change it).
        synced = DatabaseScheduler.Entry.from_entry(name, app=app, **entry)
        assert synced.task == name
        assert 0 < synced.options["expires"] < entry["schedule"]


# --- /healthz -------------------------------------------------------------------------------


def test_healthz_on_a_fresh_install_is_200_and_says_the_jobs_never_ran(client):
    body = client.get("/healthz").json()
    assert body["ok"] is True, body
    assert body["jobs"]["ok"] is True
    assert body["jobs"]["age_seconds"] == dict.fromkeys(JOBS)
    assert body["overdue_without_ticket"]["ok"] is True
    assert body["overdue_without_ticket"]["count"] == 0


def test_healthz_shows_job_ages_and_fails_when_a_job_stopped(client, settings):
    settings.JDPOP_WORKER_SILENT_AFTER = timedelta(hours=1)  # this test is about one job
    with time_machine.travel(DUE, tick=False):
        call_command("drain_outbox", stdout=StringIO())
    with time_machine.travel(DUE + 10 * 60 * S, tick=False):
        response = client.get("/healthz")
        assert response.status_code == 200
        assert response.json()["jobs"]["age_seconds"]["drain_outbox"] == 600
    with time_machine.travel(DUE + 16 * 60 * S, tick=False):
        response = client.get("/healthz")
        assert response.status_code == 503
        assert response.json()["jobs"]["stale"] == ["drain_outbox"]


def test_healthz_fails_when_a_job_has_only_ever_failed(client):
    with time_machine.travel(DUE, tick=False), pytest.raises(ZeroDivisionError):
        job_run("drain_outbox", lambda *, now: 1 / 0, now=DUE)
    with time_machine.travel(DUE + 16 * 60 * S, tick=False):
        body = client.get("/healthz").json()
    assert body["jobs"]["stale"] == ["drain_outbox"]
    assert body["jobs"]["age_seconds"]["drain_outbox"] is None


def test_healthz_counts_overdue_requests_without_a_ticket_and_fails_past_the_grace(client):
    r = InvoiceRequestFactory()
    InvoiceRequestFactory(overdue_at=None)  # the old flow: never gets a ticket
    with time_machine.travel(r.overdue_at + 5 * 60 * S, tick=False):
        response = client.get("/healthz")
        assert response.status_code == 200
        check = response.json()["overdue_without_ticket"]
        assert (check["ok"], check["count"], check["past_grace"]) == (True, 1, 0)
    # A successful opening run after the request fell overdue that did not open its ticket
    # (as if the job had a bug) is a real miss once the grace has passed.
    job_run("open_overdue_tickets", lambda *, now: {"opened": 0}, now=r.overdue_at + 60 * S)
    with time_machine.travel(r.overdue_at + 16 * 60 * S, tick=False):
        response = client.get("/healthz")
        assert response.status_code == 503
        assert response.json()["overdue_without_ticket"]["past_grace"] == 1
        UrgeTicket.objects.create(
            request=r,
            shop=r.shop,
            opened_at=r.overdue_at,
            opened_via="job",
            reply_due_at=r.overdue_at + settings.JDPOP_REPLY_WINDOW,
        )
        assert client.get("/healthz").json()["overdue_without_ticket"]["count"] == 0


def test_a_backlog_the_opening_job_has_not_yet_seen_is_not_a_fault(client):
    # Given a fresh start: requests overdue for days, and no opening run since
    r = InvoiceRequestFactory()
    with time_machine.travel(r.overdue_at + timedelta(days=2), tick=False):
        response = client.get("/healthz")
    assert response.status_code == 200
    check = response.json()["overdue_without_ticket"]
    assert (check["count"], check["past_grace"]) == (1, 0)


def test_healthz_looks_back_only_as_far_as_the_setting(client, settings):
    settings.JDPOP_HEALTH_OVERDUE_LOOKBACK = timedelta(days=7)
    r = InvoiceRequestFactory()
    with time_machine.travel(r.overdue_at + timedelta(days=7, seconds=1), tick=False):
        assert client.get("/healthz").json()["overdue_without_ticket"]["count"] == 0


# --- admin ----------------------------------------------------------------------------------


def test_arbitrators_read_tickets_outbox_and_job_runs_in_the_admin_and_change_nothing(
    admin_client,
):
    ticket = open_ticket()
    TicketReply.objects.create(
        ticket=ticket, at=DUE - H, resolution="no_invoice_needed", note="已与买家协商一致"
    )
    message = opened_message(ticket)
    job_run("drain_outbox", lambda *, now: {"sent": 0}, now=DUE)
    run = JobRun.objects.get()
    for path in [
        "/admin/tickets/urgeticket/",
        f"/admin/tickets/urgeticket/{ticket.pk}/change/",
        "/admin/core/outboxmessage/",
        f"/admin/core/outboxmessage/{message.pk}/change/",
        "/admin/core/jobrun/",
        f"/admin/core/jobrun/{run.pk}/change/",
        "/admin/django_celery_beat/periodictask/",
    ]:
        assert admin_client.get(path).status_code == 200, path
    assert ticket.request.order.number in admin_client.get("/admin/tickets/urgeticket/").text
    page = admin_client.get(f"/admin/tickets/urgeticket/{ticket.pk}/change/").text
    assert "已与买家协商一致" in page  # the replies, inline
    assert admin_client.get("/admin/tickets/urgeticket/add/").status_code == 403
    assert admin_client.post(f"/admin/core/jobrun/{run.pk}/delete/").status_code == 403
