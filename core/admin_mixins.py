"""What every admin of ours shares: arbitrators see everything (the scoped queryset's
`for_arbitrator`), and read-only lists, pages and inlines for what changes only through the
services."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.forms import Form
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _

from .clock import SECONDS, china_time
from .errors import DomainError
from .models import HistoryEntry
from .timeline import sentence


class ArbitratorScoped:
    """The admin's queryset, scoped for the arbitrator looking (everyone else sees nothing)."""

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        queryset = super().get_queryset(request)
        scope = getattr(queryset, "for_arbitrator", None)
        return scope(request.user) if scope is not None else queryset


class ReadOnly(ArbitratorScoped):
    """View, never add, change or delete."""

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class ReadOnlyInline(ReadOnly, admin.TabularInline):
    """A read-only table of related rows on a change page."""

    extra = 0
    can_delete = False

    def get_readonly_fields(self, request: HttpRequest, obj: object = None) -> list[str]:
        return list(self.fields or [])


def history_table(request_id: int, *, shop_name: str = "") -> str:
    """The whole history of an invoice request as a read-only HTML table (one query): each
    entry in words (as the parties read it, with the staff login) beside its raw codes, for
    arbitrators."""
    entries = HistoryEntry.objects.for_system().filter(request_id=request_id)
    columns = [
        _("at"),
        _("what happened"),
        _("subject"),
        _("action code"),
        _("before"),
        _("after"),
        _("by"),
        _("data"),
    ]
    header = format_html_join("", "<th>{}</th>", [(c,) for c in columns])
    body = format_html_join(
        "",
        "<tr><td>{}</td><td>{}</td><td>{} #{}</td><td><code>{}</code></td><td><code>{}</code></td>"
        "<td><code>{}</code></td><td>{}</td><td><code>{}</code></td></tr>",
        (
            (
                china_time(e.at, SECONDS),
                sentence(e, shop_name=shop_name),
                e.get_subject_display(),
                e.subject_id,
                e.action,
                e.state_from,
                e.state_to,
                e.actor or _("system"),
                json.dumps(e.data, ensure_ascii=False, default=str)[:500],
            )
            for e in entries.select_related("actor")
        ),
    )
    return format_html("<table><thead><tr>{}</tr></thead><tbody>{}</tbody></table>", header, body)


def error_text(e: Exception) -> str:
    """A service's refusal as one line for an admin message."""
    if isinstance(e, DomainError):
        return e.message
    if isinstance(e, ValidationError):
        return "; ".join(e.messages)
    return str(e) or _("Not allowed.")


def act_on_each(
    model_admin: admin.ModelAdmin,
    request: HttpRequest,
    objects: Iterable[Any],
    action: Callable[[Any], object],
    done_message: str,
) -> int:
    """An admin action over the selected objects: call the service on each, say which ones it
    refused and why, then how many it did (`done_message` % {"n": ...})."""
    done = 0
    for obj in objects:
        try:
            action(obj)
        except (DomainError, ValidationError, PermissionDenied) as e:
            model_admin.message_user(request, f"#{obj.pk}: {error_text(e)}", messages.ERROR)
        else:
            done += 1
    if done:
        model_admin.message_user(request, done_message % {"n": done}, messages.SUCCESS)
    return done


def action_form(
    model_admin: admin.ModelAdmin,
    request: HttpRequest,
    *,
    form: Form,
    action: str,
    title: str,
    intro: str,
    items: Iterable[tuple[int, str]],
    submit_label: str,
) -> TemplateResponse:
    """The page an admin action shows first to ask for its note (admin/core/action_form.html);
    the action runs when the page posts back with `apply`."""
    return TemplateResponse(
        request,
        "admin/core/action_form.html",
        {
            **model_admin.admin_site.each_context(request),
            "opts": model_admin.model._meta,
            "title": title,
            "intro": intro,
            "items": list(items),
            "form": form,
            "action": action,
            "submit_label": submit_label,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        },
    )


def ask_then_act(
    model_admin: admin.ModelAdmin,
    request: HttpRequest,
    objects: Iterable[Any],
    *,
    form_class: type[Form],
    act: Callable[[Any, dict[str, Any]], object],
    done_message: str,
    **page: Any,
) -> TemplateResponse | None:
    """An admin action that asks for input first: the `action_form` page (`page` is its
    arguments) until it posts back valid, then `act(obj, cleaned_data)` on each selected
    object through `act_on_each`."""
    form = form_class(request.POST if "apply" in request.POST else None)
    if not (form.is_bound and form.is_valid()):
        return action_form(model_admin, request, form=form, **page)
    data = form.cleaned_data
    act_on_each(model_admin, request, objects, lambda obj: act(obj, data), done_message)
    return None
