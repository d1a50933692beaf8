"""What the storefront keeps of its own: the order e-mails it sent."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class SentEmail(models.Model):
    """An order e-mail that went out, once per outbox event (a retried task sends once)."""

    event = models.OneToOneField(
        "orders.OutboxEvent",
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("event"),
    )
    order = models.ForeignKey(
        "orders.Order", on_delete=models.CASCADE, related_name="+", verbose_name=_("order")
    )
    kind = models.CharField(_("kind"), max_length=60)
    to = models.EmailField(_("to"))
    subject = models.CharField(_("subject"), max_length=250)
    language = models.CharField(_("language"), max_length=10)
    sent_at = models.DateTimeField(_("sent"), auto_now_add=True)

    class Meta:
        verbose_name = _("sent e-mail")
        verbose_name_plural = _("sent e-mails")
        ordering = ["-sent_at", "-id"]

    def __str__(self) -> str:
        return f"{self.kind} → {self.to}"
