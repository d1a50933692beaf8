"""Admin of the ERP integration: API tokens (the secret shown once, after creating),
webhook subscribers, and the delivery log with manual redelivery."""

from __future__ import annotations

import secrets
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from integrations.erp.models import (
    ApiToken,
    OrderAcknowledgement,
    Scope,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEvent,
    WebhookSubscriber,
)
from integrations.erp.tokens import api_token_create, scopes_clean
from integrations.erp.webhooks import webhook_redeliver
from shop.admin_mixins import ReadOnlyAdmin, ReadOnlyInline


class ApiTokenForm(forms.ModelForm):  # type: ignore[type-arg]
    scopes = forms.MultipleChoiceField(
        label=_("scopes"), choices=Scope.choices, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = ApiToken
        fields = ["name", "scopes", "is_active"]

    def clean_scopes(self) -> list[str]:
        return scopes_clean(self.cleaned_data["scopes"])


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    form = ApiTokenForm
    list_display = ("name", "prefix", "scopes_shown", "is_active", "last_used_at", "created_at")
    list_filter = ("is_active",)
    search_fields = ("name", "prefix")
    readonly_fields = ("prefix", "last_used_at", "created_at")

    @admin.display(description=_("scopes"))
    def scopes_shown(self, token: ApiToken) -> str:
        return ", ".join(token.scopes)

    def save_model(self, request: HttpRequest, obj: ApiToken, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        row, token = api_token_create(name=obj.name, scopes=obj.scopes)
        if not obj.is_active:
            ApiToken.objects.filter(pk=row.pk).update(is_active=False)
        obj.pk, obj.prefix, obj.token_hash = row.pk, row.prefix, row.token_hash
        obj._state.adding = False
        self.message_user(
            request,
            gettext("Copy the token now; it is not shown again: %(token)s") % {"token": token},
            messages.WARNING,
        )


class WebhookSubscriberForm(forms.ModelForm):  # type: ignore[type-arg]
    url = forms.URLField(label=_("URL"), max_length=500, assume_scheme="https")
    events = forms.MultipleChoiceField(
        label=_("events"), choices=WebhookEvent.choices, widget=forms.CheckboxSelectMultiple
    )
    secret = forms.CharField(
        label=_("signing secret"),
        required=False,
        max_length=100,
        help_text=_("Left empty, a random secret is made."),
    )

    class Meta:
        model = WebhookSubscriber
        fields = ["name", "url", "events", "secret", "is_active"]

    def clean_url(self) -> str:
        url: str = self.cleaned_data["url"]
        if not url.startswith(("https://", "http://")):
            raise ValidationError(_("Give an http(s) address."))
        return url

    def clean_secret(self) -> str:
        return self.cleaned_data["secret"] or f"whsec_{secrets.token_urlsafe(32)}"


@admin.register(WebhookSubscriber)
class WebhookSubscriberAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    form = WebhookSubscriberForm
    list_display = ("name", "url", "events_shown", "is_active", "created_at")
    list_filter = ("is_active",)

    @admin.display(description=_("events"))
    def events_shown(self, subscriber: WebhookSubscriber) -> str:
        return ", ".join(subscriber.events)


class WebhookAttemptInline(ReadOnlyInline):
    model = WebhookAttempt
    fields = ("at", "status_code", "duration_ms", "error", "response_body")


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    list_display = (
        "event",
        "subscriber",
        "state",
        "attempts",
        "last_status_code",
        "next_attempt_at",
        "delivered_at",
        "created_at",
    )
    list_filter = ("state", "event", "subscriber")
    search_fields = ("event_id", "source")
    date_hierarchy = "created_at"
    list_select_related = ("subscriber",)
    inlines = [WebhookAttemptInline]
    actions = ["redeliver"]

    def has_redeliver_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("erp.change_webhooksubscriber")

    @admin.action(description=_("Send again"), permissions=["redeliver"])
    def redeliver(self, request: HttpRequest, queryset: QuerySet[WebhookDelivery]) -> None:
        count = webhook_redeliver(queryset)
        self.message_user(
            request,
            ngettext(
                "%(count)d delivery is queued again.",
                "%(count)d deliveries are queued again.",
                count,
            )
            % {"count": count},
        )


@admin.register(OrderAcknowledgement)
class OrderAcknowledgementAdmin(ReadOnlyAdmin):
    list_display = ("order", "reference", "token", "acknowledged_at")
    search_fields = ("order__number", "reference")
    list_select_related = ("order", "token")
