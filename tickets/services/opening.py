"""Opening urge tickets (spec 4.1–4.2): the one code path for the beat job and the consumer's
催开票 button, exactly once per request, whoever gets there first.

A batch is five set-based statements in one transaction, written once for PostgreSQL and
SQLite (`core.sql` holds the few words in which they differ):

1. claim the due rows of the opening queue (`invoices.DueRequest`: the pending requests with
   an overdue instant whose ticket is not open yet, kept by the database), oldest first, after
   a cursor, from its index `ir_due_queue_idx`, locking their requests (PostgreSQL: `FOR NO KEY
   UPDATE SKIP LOCKED`, so a request being issued or urged by another transaction right now is
   left to it, and jobs at once split the work); their ids come back to Python first, so no
   statement reads the rows it is inserting. The consumer's urge claims its one request
   directly;
2. insert their tickets with `ON CONFLICT (request_id) DO NOTHING RETURNING`: the unique key,
   not a check in Python, makes a second ticket impossible;
3. delete the claimed rows from the queue: a run with nothing to do reads an empty index
   range, however many tickets are open, and the wide request row is not rewritten;
4. append the "ticket opened" history rows and 5. queue the "ticket opened" messages (unique
   outbox keys), both from the rows step 2 returned, passed back as parameters.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import F, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from core.errors import DomainError
from core.history import actor_or_none, history_insert
from core.models import Shop
from core.outbox import outbox_insert
from core.sql import claim, execute, id_rows, json_object, postgres, timestamp
from core.sql import ids as sql_ids
from core.sql import run as sql_run
from invoices.models import DueRequest, InvoiceRequest
from invoices.overdue import is_overdue, overdue_q

from ..models import UrgeTicket
from ..rules import reply_due_at
from ._common import ticket_history

# (due_at as the database returned it, request id) of the last request a batch looked at
Cursor = tuple[datetime, int]

_INSERT = """
INSERT INTO {ticket} (request_id, shop_id, state, opened_at, opened_via, reply_due_at,
                      urge_count, sla, resolution, resolution_note, promise_state)
SELECT r.id, r.shop_id, %s, %s, %s, %s, 0, '', '', '', ''
FROM {request} r JOIN {chosen} ON chosen.id = r.id JOIN {shop} s ON s.id = r.shop_id
WHERE r.state = %s AND r.overdue_at < %s AND s.new_flow_since IS NOT NULL
ON CONFLICT (request_id) DO NOTHING
RETURNING id, request_id, shop_id
"""


# Step 1 of the job: the requests are locked (not the queue's rows: whoever changes a request
# holds its lock, so its row cannot change under the claim); `after` is the cursor's condition.
_CLAIM = """
SELECT q.request_id, q.due_at FROM {queue} q JOIN {request} r ON r.id = q.request_id
WHERE q.due_at < %s AND r.state = %s {after}
ORDER BY q.due_at, q.request_id LIMIT %s {claim}
"""


def due_requests(now: datetime) -> QuerySet[DueRequest]:
    """The opening job's queue at `now`: the rows of the pending requests strictly past their
    overdue instant that have no ticket yet, oldest first, from the index `ir_due_queue_idx`."""
    return DueRequest.objects.for_system().due(now)


def _candidates(
    *, now: datetime, request_ids: Sequence[int] | None, after: Cursor | None, limit: int
) -> list[tuple[int, datetime]]:
    """Step 1: the claimed overdue requests, as (id, due_at)."""
    if request_ids is not None:  # the consumer's urge: its own request, queued or not
        # (the shop's flow is checked by the insert, for both paths)
        requests = InvoiceRequest.objects.for_system().filter(overdue_q(now), pk__in=request_ids)
        claimed = requests.select_for_update(no_key=True, skip_locked=True, of=("self",))
        return list(claimed.order_by("pk").values_list("pk", "overdue_at")[:limit])
    after_sql, after_params = "", []
    if after is not None:  # (row comparison: one index range on both columns)
        after_sql, after_params = "AND (q.due_at, q.request_id) > (%s, %s)", list(after)
    sql = _CLAIM.format(
        queue=DueRequest._meta.db_table,
        request=InvoiceRequest._meta.db_table,
        after=after_sql,
        claim=claim("r"),
    )
    pending = InvoiceRequest.State.PENDING
    return sql_run(sql, [timestamp(now), pending, *after_params, limit])


def _insert_tickets(ids: list[int], *, now: datetime, via: str) -> list[tuple[int, int, int]]:
    """Step 2: (ticket id, request id, shop id) of the tickets this statement created. The
    claimed requests are locked, and read here as they are now: one that stopped being overdue
    after the claim's snapshot (issued, its instant moved) gets none, and so does one of a shop
    back on the old flow (its instant is cleared in the same transaction, but a write racing
    the switch could still carry one)."""
    table = UrgeTicket._meta.db_table
    sql = _INSERT.format(
        ticket=table,
        request=InvoiceRequest._meta.db_table,
        shop=Shop._meta.db_table,
        chosen=id_rows("chosen"),
    )
    t = timestamp
    state = UrgeTicket.State.AWAITING_REPLY
    pending = InvoiceRequest.State.PENDING
    params = [state, t(now), via, t(reply_due_at(now)), sql_ids(ids), pending, t(now)]
    return sql_run(sql, params)


def _dequeue(ids: list[int], *, now: datetime) -> None:
    """Step 3: every claimed request that is still due has its ticket now (made here or
    before): off the queue. (A ticket made outside this module leaves it when the job meets
    it; a request whose instant moved to the future keeps its moved row.)"""
    table = DueRequest._meta.db_table
    execute(
        f"DELETE FROM {table} WHERE request_id IN (SELECT id FROM {id_rows('chosen')}) "
        "AND due_at < %s",
        [sql_ids(ids), timestamp(now)],
    )


def _opened_rows(opened: list[tuple[int, int, int]]) -> tuple[str, list]:
    """A FROM item `t` (id, request_id, shop_id) of the new tickets, from parameters: the
    statements after the insert read what it returned, never the tickets table."""
    if postgres():
        columns = [[row[i] for row in opened] for i in range(3)]
        sql = (
            "(SELECT * FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[]) "
            "AS x(id, request_id, shop_id)) AS t"
        )
        return sql, columns
    sql = (
        "(SELECT json_extract(value, '$[0]') AS id, json_extract(value, '$[1]') AS request_id, "
        "json_extract(value, '$[2]') AS shop_id FROM json_each(%s)) AS t"
    )
    return sql, [json.dumps([list(row) for row in opened])]


def _record_opened(
    opened: list[tuple[int, int, int]], *, now: datetime, via: str, by_id: int | None
) -> None:
    """Steps 4 and 5: the history row and the "ticket opened" message of each new ticket."""
    rows, rows_params = _opened_rows(opened)
    sql_run(
        history_insert(
            "SELECT t.request_id, 'ticket', t.id, %s, 'ticket_opened', '', %s, "
            f"{json_object(('via', '%s'))}, %s FROM {rows} WHERE true"
        ),
        [by_id, UrgeTicket.State.AWAITING_REPLY, via, timestamp(now), *rows_params],
    )
    payload = json_object(
        ("ticket_id", "t.id"), ("request_id", "t.request_id"), ("shop_id", "t.shop_id")
    )
    sql_run(
        outbox_insert(
            "SELECT 'ticket:' || t.id || ':opened' AS key, 'ticket_opened' AS kind, "
            f"{payload} AS payload, %s AS created_at FROM {rows} WHERE true"
        ),
        [timestamp(now), *rows_params],
    )


def tickets_open_batch(
    *,
    request_ids: Sequence[int] | None = None,
    now: datetime,
    via: str,
    by: AbstractBaseUser | None = None,
    limit: int = 5000,
    after: Cursor | None = None,
) -> tuple[list[tuple[int, int]], Cursor | None]:
    """Open the tickets of up to `limit` overdue requests (all, or those of `request_ids`),
    with their history and "ticket opened" messages, in the caller's transaction or one of its
    own. Returns (ticket id, request id) of the tickets it created, and the cursor of the last
    request it looked at, or None when it looked at fewer than `limit` (nothing left), so that
    the job's next batch starts after it."""
    if request_ids is not None and not request_ids:
        return [], None
    with transaction.atomic():
        candidates = _candidates(now=now, request_ids=request_ids, after=after, limit=limit)
        if not candidates:
            return [], None
        claimed = [pk for pk, _due in candidates]
        opened = _insert_tickets(claimed, now=now, via=via)
        _dequeue(claimed, now=now)
        if opened:
            actor = actor_or_none(by)
            _record_opened(opened, now=now, via=via, by_id=actor.pk if actor else None)
    created = [(ticket_id, request_id) for ticket_id, request_id, _shop in opened]
    if len(candidates) < limit:
        return created, None
    last_id, last_due = candidates[-1]
    return created, (last_due, last_id)


def tickets_open(
    *,
    request_ids: Sequence[int] | None,
    now: datetime,
    via: str,
    by: AbstractBaseUser | None = None,
    limit: int = 5000,
) -> list[tuple[int, int]]:
    """`tickets_open_batch` without the cursor: (ticket id, request id) of the tickets opened."""
    return tickets_open_batch(request_ids=request_ids, now=now, via=via, by=by, limit=limit)[0]


def ticket_urge(
    *, invoice_request: InvoiceRequest, by: AbstractBaseUser, at: datetime | None = None
) -> UrgeTicket:
    """The consumer presses 催开票 on an overdue request (spec 4.2): the ticket opens at once if
    the job has not opened it; each press is counted and never moves the reply deadline."""
    at = at or timezone.now()
    if invoice_request.consumer_id != by.pk:
        raise InvoiceRequest.DoesNotExist
    tickets = UrgeTicket.objects.for_system()
    with transaction.atomic():
        # NO KEY UPDATE: the ticket's own insert checks its foreign key with KEY SHARE.
        fresh = (
            InvoiceRequest.objects.for_system()
            .select_related("shop")
            .select_for_update(no_key=True, of=("self",))
            .get(pk=invoice_request.pk)
        )
        # (A shop back on the old flow takes no urge, even if a write that raced the switch
        # left an instant on the request.)
        old_flow = fresh.shop.new_flow_since is None
        if old_flow or not is_overdue(fresh, at):
            raise DomainError(
                "not_overdue",
                _(
                    "You can urge the merchant once the invoice is more than %(days)d days "
                    "overdue and still not issued."
                )
                % {"days": settings.JDPOP_OVERDUE_AFTER.days},
            )
        tickets_open(request_ids=[fresh.pk], now=at, via="consumer", by=by)
        tickets.filter(request_id=fresh.pk).update(urge_count=F("urge_count") + 1, last_urged_at=at)
        ticket = tickets.get(request_id=fresh.pk)
        ticket_history(
            ticket,
            by=by,
            action="ticket_urged",
            data={"urge_count": ticket.urge_count},
            at=at,
        )
    return ticket
