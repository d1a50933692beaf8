"""The admin's "Create a shipment" page: only for staff who may change orders, and a
bad method id is a form error, not a server error."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission

from orders.models import OrderStatus, Shipment
from payments.demo import payments_demo_setup
from payments.services import payment_confirm_received
from tests.payments.test_payments import placed

pytestmark = pytest.mark.usefixtures("demo_shop")


@pytest.fixture
def paid_order():
    order, _payment, _action = placed(payments_demo_setup())
    payment_confirm_received(order=order, by="anna")
    return order


def test_staff_who_may_only_view_orders_cannot_ship(client, paid_order):
    user = get_user_model().objects.create_user("viewer", "viewer@example.com", "pw")
    user.is_staff = True
    user.save()
    user.user_permissions.add(Permission.objects.get(codename="view_order"))
    client.force_login(user)
    line = paid_order.lines.get()

    response = client.post(
        f"/admin/orders/order/{paid_order.pk}/ship/",
        {f"line_{line.pk}": "2", "carrier": "DHL", "tracking_number": "X1", "method_id": ""},
    )

    assert response.status_code == 403
    paid_order.refresh_from_db()
    assert paid_order.status == OrderStatus.PAID
    assert not Shipment.objects.exists()


def test_an_oversized_method_id_is_a_form_error(admin_client, paid_order):
    line = paid_order.lines.get()

    response = admin_client.post(
        f"/admin/orders/order/{paid_order.pk}/ship/",
        {f"line_{line.pk}": "1", "tracking_number": "X1", "method_id": "3000000000"},
    )

    assert response.status_code == 200
    assert response.context["form"].errors["method_id"]
    assert not Shipment.objects.exists()
