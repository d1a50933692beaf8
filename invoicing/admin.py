"""Admin for invoices, credit notes and proformas: the list with series, market and
e-invoice status; downloads (PDF, XML, the provider's official PDF); issuing
an invoice or a proforma for an order; credit notes; sending again; and the
settings of numbering, payment terms and e-invoice providers."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet, Sum
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from invoicing import einvoice
from invoicing.models import (
    DocumentKind,
    EInvoiceEvent,
    EInvoiceStatus,
    Invoice,
    InvoiceCharge,
    InvoiceLine,
    InvoiceSeries,
    InvoiceTax,
    InvoicingSettings,
    MarketInvoicing,
)
from invoicing.pdf import document_filename, invoice_pdf
from invoicing.providers import (
    ProviderRejected,
    ProviderUnavailable,
    provider_choices,
    provider_for,
)
from invoicing.services import (
    InvoicingError,
    credit_note_for_cancellation,
    invoice_issue,
    proforma_for_cart,
    proforma_for_order,
)
from orders.models import Cart
from orders.selectors import order_for_number
from shop.admin_mixins import ReadOnlyAdmin, ReadOnlyInline


class LineInline(ReadOnlyInline):
    model = InvoiceLine
    fields = (
        "position",
        "sku",
        "name",
        "quantity",
        "unit_price",
        "tax_category",
        "tax_rate",
        "line_net",
        "line_tax",
    )


class ChargeInline(ReadOnlyInline):
    model = InvoiceCharge
    fields = ("is_charge", "reason", "amount", "tax_category", "tax_rate", "tax")


class TaxInline(ReadOnlyInline):
    model = InvoiceTax
    fields = ("category", "rate", "taxable", "tax", "exemption_code", "exemption_reason")


class EventInline(ReadOnlyInline):
    model = EInvoiceEvent
    fields = ("at", "action", "outcome", "detail")


class IssueForm(forms.Form):
    order = forms.CharField(label=_("Order number"), max_length=20, required=False)
    cart = forms.IntegerField(
        label=_("or cart number (proforma)"),
        required=False,
        min_value=1,
        help_text=_("A shopper's cart with address and shipping chosen (admin → Carts)."),
    )
    kind = forms.ChoiceField(
        label=_("Document"),
        choices=[("invoice", _("Invoice")), ("proforma", _("Proforma invoice"))],
    )


@admin.register(Invoice)
class InvoiceAdmin(ReadOnlyAdmin):
    list_display = (
        "display_number",
        "kind",
        "order_reference",
        "market",
        "issue_date",
        "total",
        "credit_state",
        "e_status_shown",
        "downloads",
    )
    list_filter = ("kind", "e_status", "market", "series__prefix", "issue_date")
    search_fields = ("number", "order_reference", "buyer_details__name", "buyer_details__company")
    list_select_related = ("market",)
    date_hierarchy = "issue_date"
    inlines = (LineInline, ChargeInline, TaxInline, EventInline)
    actions = ("send_again", "poll_now", "credit_in_full", "cancel_at_provider")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Invoice]:
        return (
            super()
            .get_queryset(request)
            .annotate(credited_total=Sum("credit_notes__tax_inclusive"))
        )

    @admin.display(description=_("credited"))
    def credit_state(self, document: Invoice) -> str:
        """How much of an invoice credit notes have given back (one query for the list)."""
        if document.kind != DocumentKind.INVOICE:
            return "—"
        credited = getattr(document, "credited_total", None) or 0
        if not credited:
            return gettext("no")
        if credited >= document.tax_inclusive:
            return gettext("in full")
        return gettext("%(amount)s %(currency)s") % {
            "amount": f"{credited:.2f}",
            "currency": document.currency,
        }

    exclude = ("xml",)

    @admin.display(description=_("total"), ordering="tax_inclusive")
    def total(self, document: Invoice) -> str:
        return f"{document.tax_inclusive:.2f} {document.currency}"

    @admin.display(description=_("e-invoice"), ordering="e_status")
    def e_status_shown(self, document: Invoice) -> str:
        if document.e_status == EInvoiceStatus.NONE:
            return "—"
        return f"{document.get_e_status_display()} ({document.e_profile})"

    @admin.display(description=_("download"))
    def downloads(self, document: Invoice) -> str:
        return format_html(
            '<a href="{}">PDF</a> · <a href="{}">XML</a>',
            reverse("admin:invoicing_invoice_pdf", args=[document.pk]),
            reverse("admin:invoicing_invoice_xml", args=[document.pk]),
        )

    def get_urls(self) -> list[URLPattern]:
        wrap = self.admin_site.admin_view
        return [
            path("issue/", wrap(self.issue_view), name="invoicing_invoice_issue"),
            path("<int:pk>/pdf/", wrap(self.pdf_view), name="invoicing_invoice_pdf"),
            path("<int:pk>/xml/", wrap(self.xml_view), name="invoicing_invoice_xml"),
            path(
                "<int:pk>/official-pdf/",
                wrap(self.official_pdf_view),
                name="invoicing_invoice_official_pdf",
            ),
            *super().get_urls(),
        ]

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> Any:
        extra_context = {
            **(extra_context or {}),
            "issue_url": reverse("admin:invoicing_invoice_issue"),
        }
        return super().changelist_view(request, extra_context)

    def _document(self, request: HttpRequest, pk: int) -> Invoice:
        if not self.has_view_permission(request):
            raise PermissionDenied
        return get_object_or_404(Invoice, pk=pk)

    def pdf_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        document = self._document(request, pk)
        response = HttpResponse(invoice_pdf(document), content_type="application/pdf")
        response["Content-Disposition"] = f'inline; filename="{document_filename(document, "pdf")}"'
        return response

    def xml_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        document = self._document(request, pk)
        response = HttpResponse(document.xml, content_type="application/xml; charset=utf-8")
        response["Content-Disposition"] = (
            f'attachment; filename="{document_filename(document, "xml")}"'
        )
        return response

    def official_pdf_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        document = self._document(request, pk)
        provider = provider_for(document.e_provider)
        if provider is None or document.e_status != EInvoiceStatus.ACCEPTED:
            messages.error(
                request, gettext("The provider's PDF exists once it accepted the e-invoice.")
            )
            return HttpResponseRedirect(reverse("admin:invoicing_invoice_change", args=[pk]))
        try:
            pdf = provider.official_pdf(document)
        except (ProviderUnavailable, ProviderRejected) as error:
            messages.error(
                request, gettext("The provider did not give the PDF: %(error)s") % {"error": error}
            )
            return HttpResponseRedirect(reverse("admin:invoicing_invoice_change", args=[pk]))
        return HttpResponse(pdf, content_type="application/pdf")

    def issue_view(self, request: HttpRequest) -> HttpResponse:
        """Issue the invoice, or make a proforma, of an order given by its number."""
        if not self.has_view_permission(request) or not request.user.has_perm(
            "invoicing.add_invoice"
        ):
            raise PermissionDenied
        form = (
            IssueForm(request.POST)
            if request.method == "POST"
            else IssueForm(initial={"order": request.GET.get("order", "")[:20], "kind": "invoice"})
        )
        if request.method == "POST" and form.is_valid() and form.cleaned_data["cart"]:
            cart = Cart.objects.filter(pk=form.cleaned_data["cart"]).first()
            if cart is None:
                form.add_error("cart", gettext("There is no cart with this number."))
            else:
                try:
                    document = proforma_for_cart(cart=cart, by=request.user.get_username())
                except InvoicingError as error:
                    form.add_error(None, error.message)
                else:
                    return HttpResponseRedirect(
                        reverse("admin:invoicing_invoice_change", args=[document.pk])
                    )
        elif request.method == "POST" and form.is_valid():
            order = order_for_number(form.cleaned_data["order"])
            if order is None:
                form.add_error("order", gettext("There is no order with this number."))
            else:
                by = request.user.get_username()
                try:
                    if form.cleaned_data["kind"] == "proforma":
                        document = proforma_for_order(order=order, by=by)
                    else:
                        document = invoice_issue(order=order, by=by)
                except InvoicingError as error:
                    form.add_error(None, error.message)
                else:
                    messages.success(
                        request,
                        gettext("%(document)s for order %(order)s is ready.")
                        % {"document": document.display_number, "order": order.number},
                    )
                    return HttpResponseRedirect(
                        reverse("admin:invoicing_invoice_change", args=[document.pk])
                    )
        return render(
            request,
            "admin/invoicing/invoice_issue.html",
            {
                **self.admin_site.each_context(request),
                "form": form,
                "opts": self.model._meta,
                "title": gettext("Issue an invoice or a proforma"),
            },
        )

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> Any:
        links = {
            "pdf_url": reverse("admin:invoicing_invoice_pdf", args=[object_id]),
            "xml_url": reverse("admin:invoicing_invoice_xml", args=[object_id]),
            "official_pdf_url": reverse("admin:invoicing_invoice_official_pdf", args=[object_id]),
        }
        return super().change_view(request, object_id, form_url, {**(extra_context or {}), **links})

    @admin.action(description=_("Send the e-invoice again"))
    def send_again(self, request: HttpRequest, queryset: QuerySet[Invoice]) -> None:
        from invoicing.tasks import e_invoice_send

        waiting = queryset.filter(e_status__in=[EInvoiceStatus.PENDING, EInvoiceStatus.FAILED])
        for pk in waiting.values_list("pk", flat=True):
            e_invoice_send.apply_async(args=(pk,))
        self.message_user(
            request,
            gettext(
                "%(count)s e-invoices queued; documents already sent or answered are "
                "left as they are."
            )
            % {"count": waiting.count()},
        )

    @admin.action(description=_("Ask the provider for the status now"))
    def poll_now(self, request: HttpRequest, queryset: QuerySet[Invoice]) -> None:
        for document in queryset.filter(e_status=EInvoiceStatus.SENT):
            try:
                einvoice.e_invoice_poll(document.pk)
            except ProviderUnavailable as error:
                self.message_user(request, str(error), messages.WARNING)
        self.message_user(request, gettext("Statuses updated."))

    @admin.action(description=_("Credit in full (credit note)"))
    def credit_in_full(self, request: HttpRequest, queryset: QuerySet[Invoice]) -> None:
        made = 0
        for document in queryset.filter(kind=DocumentKind.INVOICE).select_related("order"):
            if document.order is None:
                continue
            note = credit_note_for_cancellation(
                order=document.order, by=request.user.get_username()
            )
            made += note is not None
        self.message_user(
            request,
            gettext("%(count)s credit notes issued (invoices credited already were skipped).")
            % {"count": made},
        )

    @admin.action(description=_("Cancel the e-invoice at the provider (not yet accepted)"))
    def cancel_at_provider(self, request: HttpRequest, queryset: QuerySet[Invoice]) -> None:
        for document in queryset.exclude(e_status=EInvoiceStatus.NONE):
            try:
                einvoice.e_invoice_cancel(document)
            except (ProviderRejected, ProviderUnavailable) as error:
                self.message_user(
                    request,
                    gettext("%(number)s: %(error)s")
                    % {"number": document.display_number, "error": error},
                    messages.ERROR,
                )
            else:
                self.message_user(
                    request,
                    gettext("%(number)s is cancelled at the provider.")
                    % {"number": document.display_number},
                )


@admin.register(InvoiceSeries)
class InvoiceSeriesAdmin(ReadOnlyAdmin):
    list_display = ("prefix", "kind", "seller", "country", "year", "style", "last_number")
    list_filter = ("kind", "year", "seller")


class InvoicingSettingsForm(forms.ModelForm):  # type: ignore[type-arg]
    e_invoice_provider = forms.ChoiceField(
        label=_("e-invoice provider"), choices=provider_choices, required=False
    )

    class Meta:
        model = InvoicingSettings
        fields = (
            "seller",
            "number_style",
            "invoice_prefix",
            "credit_note_prefix",
            "payment_terms_days",
            "e_invoice_provider",
            "electronic_address",
            "footer",
        )


@admin.register(InvoicingSettings)
class InvoicingSettingsAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    form = InvoicingSettingsForm
    list_display = (
        "seller",
        "number_style",
        "invoice_prefix",
        "payment_terms_days",
        "e_invoice_provider",
    )


@admin.register(MarketInvoicing)
class MarketInvoicingAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("market", "issue_on")
