import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("shop", "0005_address_book"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="market",
            name="dealer_group",
            field=models.ForeignKey(
                blank=True,
                help_text="Which group approved dealers of this market join; its price list in this market gives the dealer prices.",
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="shop.customergroup",
                verbose_name="dealer group",
            ),
        ),
        migrations.CreateModel(
            name="DealerApplication",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("company_name", models.CharField(max_length=150, verbose_name="company")),
                (
                    "vat_number",
                    models.CharField(
                        blank=True,
                        help_text="As checked (normalised). Empty outside the EU when a tax number is given.",
                        max_length=40,
                        verbose_name="VAT number",
                    ),
                ),
                (
                    "tax_number",
                    models.CharField(
                        blank=True,
                        help_text="Local tax or trade number.",
                        max_length=40,
                        verbose_name="tax number",
                    ),
                ),
                ("phone", models.CharField(blank=True, max_length=40, verbose_name="phone")),
                ("message", models.TextField(blank=True, verbose_name="message")),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("pending", "pending"),
                            ("approved", "approved"),
                            ("rejected", "rejected"),
                        ],
                        default="pending",
                        max_length=10,
                        verbose_name="status",
                    ),
                ),
                (
                    "vat_check_message",
                    models.CharField(
                        blank=True,
                        help_text="What the VAT number check said when the customer applied.",
                        max_length=300,
                        verbose_name="VAT check",
                    ),
                ),
                ("decided_at", models.DateTimeField(blank=True, null=True, verbose_name="decided")),
                (
                    "decision_note",
                    models.TextField(
                        blank=True,
                        help_text="The customer reads it.",
                        verbose_name="reason for rejection",
                    ),
                ),
                (
                    "decision_emailed_at",
                    models.DateTimeField(blank=True, null=True, verbose_name="decision e-mailed"),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True, verbose_name="applied")),
                (
                    "country",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="shop.country",
                        verbose_name="country",
                    ),
                ),
                (
                    "customer",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="dealer_applications",
                        to="shop.customer",
                        verbose_name="customer",
                    ),
                ),
                (
                    "decided_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="decided by",
                    ),
                ),
                (
                    "group",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="shop.customergroup",
                        verbose_name="group joined",
                    ),
                ),
                (
                    "market",
                    models.ForeignKey(
                        help_text="Where the customer applied; its dealer group is the one they join.",
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="dealer_applications",
                        to="shop.market",
                        verbose_name="market",
                    ),
                ),
            ],
            options={
                "verbose_name": "dealer application",
                "verbose_name_plural": "dealer applications",
                "ordering": ["-created_at", "-id"],
                "indexes": [
                    models.Index(
                        fields=["status", "created_at"], name="shop_dealer_status_4f22f4_idx"
                    )
                ],
                "constraints": [
                    models.UniqueConstraint(
                        condition=models.Q(("status", "pending")),
                        fields=("customer",),
                        name="one_pending_dealer_application",
                        violation_error_message="This customer already has a pending application.",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("status__in", ["pending", "approved", "rejected"])),
                        name="dealer_application_status_known",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            models.Q(("vat_number", ""), _negated=True),
                            models.Q(("tax_number", ""), _negated=True),
                            _connector="OR",
                        ),
                        name="dealer_application_has_vat_or_tax_number",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            ("status", "pending"), ("decided_at__isnull", False), _connector="OR"
                        ),
                        name="dealer_application_decision_dated",
                    ),
                ],
            },
        ),
    ]
