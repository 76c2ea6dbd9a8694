"""Signed webhooks to a shop's own system (spec 10, 12), the Standard Webhooks way.

Every event of a shop becomes, for each endpoint the shop registered, a `WebhookDelivery`
(written by the outbox drain). `deliver_webhooks` (every 30 s) POSTs them as JSON with the
headers `webhook-id` (the same for every try of one event), `webhook-timestamp` and
`webhook-signature` (HMAC SHA-256 with the endpoint's secret, made by the `standardwebhooks`
package; during a rotation's overlap, one signature per secret).

- **Retries**: a try that does not answer 2xx within JDPOP_WEBHOOK_TIMEOUT_SECONDS is tried
  again after 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and 10 h (JDPOP_WEBHOOK_RETRY_SCHEDULE: about
  27 hours in all), then the delivery has failed. An endpoint with no success since that
  delivery was made is disabled, and its owners are told (inbox and e-mail). The owner can
  re-send any delivery by hand, and enable the endpoint again; what arrived while it was
  disabled waits for it.
- **Order**: the deliveries of one object (a ticket, a dispute) to one endpoint go one after
  the other: a later one waits while an earlier one is pending.
- **Nobody holds up the others**: each run sends concurrently (JDPOP_WEBHOOK_CONCURRENCY in
  all, JDPOP_WEBHOOK_CONCURRENCY_PER_ENDPOINT per endpoint); an endpoint that times out or
  refuses the connection gets no more tries in that run, and none at all (its untried and its
  new deliveries alike) until the retry time of the try that got no answer (5 s, then 5 min,
  ...): a hanging receiver costs the others one timeout per step of the schedule, not one per
  run (a delivery sent again by hand to it waits for that time too). Deliveries are claimed
  with a lease (a run killed half-way leaves them for the next), and sent outside any
  transaction.
- **SSRF**: an endpoint must be https:// and resolve only to public addresses, checked when it
  is registered and again (and pinned) in every run, so a DNS answer that changes later cannot
  point it inside. JDPOP_WEBHOOK_ALLOW_PRIVATE (tests, local development) lifts both rules.
"""

from __future__ import annotations

import asyncio
import base64
import ipaddress
import json
import secrets
import socket
import time
from collections import defaultdict, deque
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aiohttp
from aiohttp.abc import AbstractResolver
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import Exists, F, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _
from standardwebhooks.webhooks import Webhook

from core.outbox import outbox_put

from .models import WebhookAttempt, WebhookDelivery, WebhookEndpoint

State = WebhookDelivery.State
USER_AGENT = "jdpop-webhooks/1"
LEASE = timedelta(minutes=2)


# --- secrets and signatures -------------------------------------------------------------------


def new_secret() -> str:
    """A Standard Webhooks secret: "whsec_" and 32 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def body_of(payload: dict) -> str:
    """The exact text POSTed (and signed): the same bytes for every try."""
    return json.dumps(
        payload, ensure_ascii=False, separators=(",", ":"), sort_keys=True, cls=DjangoJSONEncoder
    )


def signing_secrets(endpoint: WebhookEndpoint, now: datetime) -> list[str]:
    """The secrets that sign now: the current one, and the previous one during its overlap."""
    found = [endpoint.secret]
    if (
        endpoint.previous_secret
        and endpoint.previous_secret_until
        and (now < endpoint.previous_secret_until)
    ):
        found.append(endpoint.previous_secret)
    return found


def sign(secrets_: list[str], message_id: str, at: datetime, body: str) -> dict[str, str]:
    """The three Standard Webhooks headers for `body` sent at `at`."""
    at_utc = at.astimezone(UTC)  # the package reads the time as UTC
    signature = " ".join(Webhook(s).sign(message_id, at_utc, body) for s in secrets_)
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(at_utc.timestamp())),
        "webhook-signature": signature,
    }


# --- where an endpoint may point (SSRF) -------------------------------------------------------


def _public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def resolve(host: str, port: int) -> list[str]:
    """The addresses `host` resolves to (ValidationError when it does not)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as e:
        raise ValidationError(
            _("The endpoint's host name does not resolve (%(error)s).") % {"error": e},
            code="webhook_dns",
        ) from None
    return sorted({info[4][0] for info in infos})


def check_url(url: str) -> tuple[str, str, int, list[str]]:
    """An endpoint URL that may be used: https://, no user name or password in it, and every
    address it resolves to public (unless JDPOP_WEBHOOK_ALLOW_PRIVATE). Returns the URL, its
    host, port and addresses; ValidationError with a message for people otherwise."""
    allow_private = settings.JDPOP_WEBHOOK_ALLOW_PRIVATE
    try:
        parts = urlsplit(url.strip())
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise ValidationError(_("Enter a valid URL."), code="invalid") from None
    if parts.scheme != "https" and not (allow_private and parts.scheme == "http"):
        raise ValidationError(_("The endpoint must be an https:// URL."), code="webhook_not_https")
    if not parts.hostname or parts.username or parts.password:
        raise ValidationError(
            _("Enter the endpoint's URL without a user name or password in it."),
            code="invalid",
        )
    addresses = resolve(parts.hostname, port)
    private = [a for a in addresses if not _public(a)]
    if private and not allow_private:
        raise ValidationError(
            _(
                "The endpoint resolves to a private, loopback or link-local address (%(address)s):"
                " it must be reachable on the public internet."
            )
            % {"address": private[0]},
            code="webhook_private",
        )
    return urlunsplit(parts), parts.hostname, port, addresses


# --- sending ----------------------------------------------------------------------------------


@dataclass
class Outcome:
    delivery_id: int
    tried: bool  # False: not sent this run (its endpoint was failing): released, not counted
    status: int | None = None
    error: str = ""
    ms: int = 0

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


@dataclass
class _Job:
    delivery: WebhookDelivery
    endpoint: WebhookEndpoint


class _PinnedResolver(AbstractResolver):
    """Hands aiohttp the addresses `check_url` found and checked for each host in this run, so
    the connection goes where the check looked (a later DNS answer cannot point it inside),
    while TLS still checks the certificate against the host name."""

    def __init__(self) -> None:
        self.pinned: dict[str, list[str]] = {}

    async def resolve(
        self, host: str, port: int = 0, family: int = socket.AF_INET
    ) -> list[dict[str, Any]]:
        addresses = self.pinned.get(host)
        if not addresses:
            raise OSError(f"{host} was not checked in this run")
        return [
            {
                "hostname": host,
                "host": address,
                "port": port,
                "family": socket.AF_INET6 if ":" in address else socket.AF_INET,
                "proto": 0,
                "flags": socket.AI_NUMERICHOST,
            }
            for address in addresses
        ]

    async def close(self) -> None:
        return None


def _route(endpoint: WebhookEndpoint, resolver: _PinnedResolver) -> str:
    """The endpoint's URL, its checked addresses pinned in `resolver`; "" and the reason when
    it may not be sent to: (url, refused)."""
    try:
        url, host, _port, addresses = check_url(endpoint.url)
    except ValidationError as e:
        return "", " ".join(e.messages)[:500]
    resolver.pinned[host] = addresses
    return url, ""


async def _post(session: aiohttp.ClientSession, job: _Job, url: str, now: datetime) -> Outcome:
    delivery, endpoint = job.delivery, job.endpoint
    started = time.monotonic()
    try:
        body = body_of(delivery.payload)
        headers = sign(signing_secrets(endpoint, now), delivery.message_id, timezone.now(), body)
        headers |= {"content-type": "application/json", "user-agent": USER_AGENT}
        async with session.post(
            url, data=body.encode(), headers=headers, allow_redirects=False
        ) as response:
            await response.read()
        ms = round((time.monotonic() - started) * 1000)
        return Outcome(delivery.pk, True, status=response.status, ms=ms)
    except (aiohttp.ClientError, TimeoutError, OSError) as e:
        ms = round((time.monotonic() - started) * 1000)
        name = "Timeout" if isinstance(e, TimeoutError) else type(e).__name__
        error = f"{name}: {e}" if str(e) else name
        return Outcome(delivery.pk, True, error=error[:500], ms=ms)


async def _send_all(jobs: list[_Job], now: datetime) -> list[Outcome]:
    """Send every job, JDPOP_WEBHOOK_CONCURRENCY at once and per endpoint at most
    JDPOP_WEBHOOK_CONCURRENCY_PER_ENDPOINT; an endpoint that times out or cannot be reached
    gets no more tries in this run."""
    by_endpoint: dict[int, deque[_Job]] = defaultdict(deque)
    for job in jobs:
        by_endpoint[job.endpoint.pk].append(job)
    concurrency = settings.JDPOP_WEBHOOK_CONCURRENCY
    total = asyncio.Semaphore(concurrency)
    outcomes: list[Outcome] = []
    timeout = settings.JDPOP_WEBHOOK_TIMEOUT_SECONDS
    resolver = _PinnedResolver()
    # Each endpoint's address is looked up (and checked) once per batch, off the loop.
    routes = await asyncio.gather(
        *(asyncio.to_thread(_route, queue[0].endpoint, resolver) for queue in by_endpoint.values())
    )
    connector = aiohttp.TCPConnector(
        limit=concurrency, limit_per_host=0, resolver=resolver, use_dns_cache=False
    )
    async with aiohttp.ClientSession(
        connector=connector,
        timeout=aiohttp.ClientTimeout(total=timeout, connect=min(timeout, 5.0)),
        trust_env=False,
    ) as session:

        async def endpoint_worker(queue: deque[_Job], url: str, broken: list[bool]) -> None:
            while queue:
                job = queue.popleft()
                if broken[0]:
                    outcomes.append(Outcome(job.delivery.pk, tried=False))
                    continue
                async with total:
                    outcome = await _post(session, job, url, now)
                outcomes.append(outcome)
                if outcome.status is None:  # no answer at all: leave it alone for this run
                    broken[0] = True

        workers = []
        for queue, (url, refused) in zip(by_endpoint.values(), routes, strict=True):
            if refused:  # tried (and counted) once, the rest waits for the next run
                outcomes.append(Outcome(queue.popleft().delivery.pk, True, error=refused))
                outcomes += [Outcome(job.delivery.pk, tried=False) for job in queue]
                continue
            broken = [False]
            n = min(settings.JDPOP_WEBHOOK_CONCURRENCY_PER_ENDPOINT, len(queue))
            workers += [endpoint_worker(queue, url, broken) for _ in range(n)]
        await asyncio.gather(*workers)
    return outcomes


# --- the job ----------------------------------------------------------------------------------


def _claim(now: datetime, batch_size: int, skip: set[int]) -> list[_Job]:
    """The due deliveries at the head of their object's line, of enabled endpoints (but those
    in `skip`, and those that did not answer their last try and wait for its retry time),
    leased to this run (a killed run's lease runs out and the next run takes them)."""
    earlier = WebhookDelivery.objects.filter(
        endpoint_id=OuterRef("endpoint_id"),
        object_key=OuterRef("object_key"),
        state=State.PENDING,
        id__lt=OuterRef("id"),
    )
    silent = WebhookDelivery.objects.filter(
        state=State.PENDING, attempts__gt=0, last_status__isnull=True, next_attempt_at__gt=now
    ).values("endpoint_id")
    with transaction.atomic():
        ids = list(
            WebhookDelivery.objects.for_system()
            .select_for_update(skip_locked=True, of=("self",))
            .filter(state=State.PENDING, next_attempt_at__lte=now, endpoint__enabled=True)
            .exclude(Exists(earlier))
            .exclude(endpoint_id__in=skip)
            .exclude(endpoint_id__in=silent)
            .order_by("id")
            .values_list("id", flat=True)[:batch_size]
        )
        if not ids:
            return []
        deliveries = WebhookDelivery.objects.for_system().filter(pk__in=ids)
        deliveries.update(next_attempt_at=now + LEASE)
        return [_Job(d, d.endpoint) for d in deliveries.select_related("endpoint").order_by("id")]


def retry_delay(step: int) -> timedelta | None:
    """How long after the `step`-th failed try (1, 2, ...) the next comes; None: no more."""
    schedule = settings.JDPOP_WEBHOOK_RETRY_SCHEDULE
    return timedelta(seconds=schedule[step - 1]) if step <= len(schedule) else None


def _record(jobs: list[_Job], outcomes: list[Outcome], now: datetime) -> dict[str, int]:
    """Write what happened, in one transaction and a few statements per batch: an attempt per
    try, each delivery's new state, each endpoint's last success; disable the endpoints whose
    delivery ran out of retries with no success since."""
    by_id = {job.delivery.pk: job for job in jobs}
    attempts: list[WebhookAttempt] = []
    counts = {"delivered": 0, "retrying": 0, "failed": 0, "deferred": 0}
    deferred: dict[int, list[int]] = defaultdict(list)  # endpoint -> deliveries not tried
    # endpoint -> when its failed tries of this run go again: its untried ones wait as long
    retry_at: dict[int, datetime] = {}
    delivered: dict[int, list[int]] = defaultdict(list)  # status code -> deliveries
    exhausted: list[WebhookDelivery] = []
    with transaction.atomic():
        deliveries = WebhookDelivery.objects.for_system()
        for outcome in outcomes:
            delivery = by_id[outcome.delivery_id].delivery
            endpoint_id = by_id[outcome.delivery_id].endpoint.pk
            if not outcome.tried:
                deferred[endpoint_id].append(delivery.pk)
                continue
            attempts.append(
                WebhookAttempt(
                    delivery_id=delivery.pk,
                    at=now,
                    status_code=outcome.status,
                    error=outcome.error or ("" if outcome.ok else _http_error(outcome.status)),
                    duration_ms=outcome.ms,
                )
            )
            if outcome.ok:
                delivered[outcome.status].append(delivery.pk)  # type: ignore[index]
                continue
            error = attempts[-1].error
            step = delivery.step + 1
            delay = retry_delay(step)
            common = {
                "attempts": F("attempts") + 1,
                "last_status": outcome.status,
                "step": step,
                "last_error": error,
            }
            if delay is None:
                deliveries.filter(pk=delivery.pk).update(
                    state=State.FAILED, next_attempt_at=None, **common
                )
                exhausted.append(delivery)
                counts["failed"] += 1
            else:
                deliveries.filter(pk=delivery.pk).update(next_attempt_at=now + delay, **common)
                counts["retrying"] += 1
                retry_at[endpoint_id] = min(retry_at.get(endpoint_id, now + delay), now + delay)
        for status, ids in delivered.items():
            counts["delivered"] += deliveries.filter(pk__in=ids).update(
                state=State.DELIVERED,
                delivered_at=now,
                last_error="",
                attempts=F("attempts") + 1,
                last_status=status,
            )
        for endpoint_id, ids in deferred.items():
            deliveries.filter(pk__in=ids, state=State.PENDING).update(
                next_attempt_at=retry_at.get(endpoint_id, now)
            )
            counts["deferred"] += len(ids)
        WebhookAttempt.objects.bulk_create(attempts)
        reached = {by_id[o.delivery_id].endpoint.pk for o in outcomes if o.tried and o.ok}
        if reached:
            WebhookEndpoint.objects.for_system().filter(pk__in=reached).update(last_success_at=now)
        for delivery in exhausted:
            counts["disabled"] = counts.get("disabled", 0) + endpoint_disable_if_failing(
                delivery, now=now
            )
    return counts


def _http_error(status: int | None) -> str:
    return f"HTTP {status}" if status is not None else ""


def endpoint_disable_if_failing(delivery: WebhookDelivery, *, now: datetime) -> int:
    """Disable the endpoint of `delivery` (whose retries ran out) if nothing reached it since
    the delivery was made, and tell its owners. 1 if it was disabled now."""
    endpoint = delivery.endpoint
    changed = (
        WebhookEndpoint.objects.for_system()
        .filter(pk=endpoint.pk, enabled=True)
        .exclude(last_success_at__gte=delivery.created_at)
        .update(
            enabled=False,
            disabled_at=now,
            disabled_reason=f"no success since {delivery.created_at.isoformat()}"[:300],
        )
    )
    if changed:
        outbox_put(
            [
                (
                    f"webhook:{endpoint.pk}:disabled:{now.isoformat()}",
                    "webhook_disabled",
                    {"endpoint_id": endpoint.pk, "shop_id": endpoint.shop_id},
                )
            ],
            at=now,
        )
    return changed


def deliver_webhooks(
    *, now: datetime, batch_size: int = 500, budget_seconds: float = 50.0
) -> dict[str, int]:
    """Send the due webhook deliveries (see the module docstring), a batch at a time, until
    none is due or the time budget ends."""
    started = time.monotonic()
    totals: dict[str, int] = defaultdict(int)
    failing: set[int] = set()  # endpoints that did not answer: not tried again in this run
    while time.monotonic() - started < budget_seconds:
        jobs = _claim(now, batch_size, failing)
        if not jobs:
            break
        outcomes = asyncio.run(_send_all(jobs, now))
        endpoint_of = {job.delivery.pk: job.endpoint.pk for job in jobs}
        failing |= {endpoint_of[o.delivery_id] for o in outcomes if o.status is None}
        for key, n in _record(jobs, outcomes, now).items():
            totals[key] += n
    return dict(totals)
