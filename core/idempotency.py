"""`Idempotency-Key` on every API POST (issue 12).

A POST with the header is done at most once per user and key. The first request inserts the
key's row "in progress" in a transaction of its own (the unique constraint on (user, key)
lets only one insert win), runs, and stores its response (status and body). A repeat with the
same body gets that response again (header `Idempotent-Replayed: true`); with another body a
422 `idempotency_key_reused`; while the first still runs, a 409 `idempotency_in_progress`. A
server error stores nothing (the row is removed: the client may retry). Keys expire after
`JDPOP_IDEMPOTENCY_TTL` (24 h): an expired key is ignored (and taken over by the next request
with it), and the job `prune_idempotency_keys` deletes them.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter

from .errors import Conflict, DomainError
from .models import IdempotencyKey

HEADER = "Idempotency-Key"
MAX_LENGTH = 255


class KeyReused(DomainError):
    status = 422


class Replay(Exception):
    """Raised by `IdempotentMixin.initial` to answer with a stored response."""

    def __init__(self, row: IdempotencyKey) -> None:
        self.row = row


def _fingerprint(request: Request) -> str:
    """What makes two requests "the same": the path and the parsed body (files by content), so
    that a multipart body sent again with another boundary is still the same."""
    data = request.data
    if hasattr(data, "lists"):
        fields = {k: sorted(str(v) for v in values) for k, values in data.lists()}
    else:
        fields = data
    files = {}
    for name, upload in getattr(request, "FILES", {}).items():
        digest = hashlib.sha256()
        for chunk in upload.chunks():
            digest.update(chunk)
        upload.seek(0)
        files[name] = digest.hexdigest()
    blob = json.dumps(
        {"path": request.path, "data": fields, "files": files},
        sort_keys=True,
        default=str,
        ensure_ascii=False,
    )
    return hashlib.sha256(blob.encode()).hexdigest()


def _check_key(key: str) -> None:
    if not key or len(key) > MAX_LENGTH or not key.isprintable() or not key.isascii():
        raise DomainError(
            "invalid_idempotency_key",
            _("The Idempotency-Key header must be 1 to %(max)d printable ASCII characters."),
            max=MAX_LENGTH,
        )


def claim(*, user: Any, key: str, fingerprint: str, now: datetime) -> IdempotencyKey:
    """The key's row, newly inserted in progress; or `Replay` (done, same body), `KeyReused`
    (another body), `Conflict` (still in progress)."""
    expired = now - settings.JDPOP_IDEMPOTENCY_TTL
    for _attempt in range(2):
        try:
            with transaction.atomic():
                return IdempotencyKey.objects.create(
                    user=user,
                    key=key,
                    fingerprint=fingerprint,
                    state=IdempotencyKey.State.IN_PROGRESS,
                    created_at=now,
                )
        except IntegrityError:
            row = IdempotencyKey.objects.filter(user=user, key=key).first()
        if row is None:
            continue  # removed in between (a server error, an expiry): try again
        if row.created_at <= expired:
            IdempotencyKey.objects.filter(pk=row.pk, created_at__lte=expired).delete()
            continue  # an expired key is as good as none
        if row.fingerprint != fingerprint:
            raise KeyReused(
                "idempotency_key_reused",
                _("This Idempotency-Key was already used with another request."),
            )
        if row.state == IdempotencyKey.State.IN_PROGRESS:
            raise Conflict(
                "idempotency_in_progress",
                _("A request with this Idempotency-Key is still in progress. Retry later."),
            )
        raise Replay(row)
    raise Conflict(
        "idempotency_in_progress",
        _("A request with this Idempotency-Key is still in progress. Retry later."),
    )


def store(row: IdempotencyKey, response: Response) -> None:
    """Keep the response of the request that claimed `row` (a server error: forget the key)."""
    if response.status_code >= 500:
        IdempotencyKey.objects.filter(pk=row.pk).delete()
        return
    data = getattr(response, "data", None)
    body = json.loads(json.dumps(data, default=str)) if data is not None else None
    IdempotencyKey.objects.filter(pk=row.pk).update(
        state=IdempotencyKey.State.DONE, status_code=response.status_code, body=body
    )


def replayed(row: IdempotencyKey) -> Response:
    response = Response(row.body, status=row.status_code)
    response["Idempotent-Replayed"] = "true"
    return response


class IdempotentMixin:
    """For every API view: a POST with `Idempotency-Key` runs at most once per user and key.
    The key is claimed after authentication, permissions and throttling (a refused request
    claims nothing), its response stored as it leaves."""

    _idempotency_row: IdempotencyKey | None = None

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        key = request.headers.get(HEADER)
        if request.method != "POST" or key is None or not request.user.is_authenticated:
            return
        _check_key(key)
        fingerprint = _fingerprint(request)
        self._idempotency_row = claim(
            user=request.user, key=key, fingerprint=fingerprint, now=timezone.now()
        )

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, Replay):
            return replayed(exc.row)
        try:
            return super().handle_exception(exc)
        except BaseException:  # a server error: forget the key, so that a retry may run
            row, self._idempotency_row = self._idempotency_row, None
            if row is not None:
                IdempotencyKey.objects.filter(pk=row.pk).delete()
            raise

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        response = super().finalize_response(request, response, *args, **kwargs)
        row, self._idempotency_row = self._idempotency_row, None
        if row is not None:
            store(row, response)
        return response


def prune_idempotency_keys(*, now: datetime) -> dict[str, int]:
    """The job: delete the keys older than `JDPOP_IDEMPOTENCY_TTL` (safe to run twice)."""
    cutoff = now - settings.JDPOP_IDEMPOTENCY_TTL
    deleted, _by_model = IdempotencyKey.objects.filter(created_at__lte=cutoff).delete()
    return {"deleted": deleted}


class IdempotentRouter(DefaultRouter):
    """The API's router: every viewset registered takes `Idempotency-Key` on its POSTs (one
    that does not say so itself gets `IdempotentMixin` here), so that no POST escapes it."""

    def register(self, prefix: str, viewset: type, basename: str | None = None) -> None:
        if not issubclass(viewset, IdempotentMixin):
            viewset = type(
                viewset.__name__,
                (IdempotentMixin, viewset),
                {"__doc__": viewset.__doc__, "__module__": viewset.__module__},
            )
        super().register(prefix, viewset, basename)
