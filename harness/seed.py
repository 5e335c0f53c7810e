"""The seed data both stages start from: the catalog the load test orders from, and its customers.

The local stage seeds moto with them (``localstage/resources.py``); the deployed-stack runner
seeds a deployed stack's tables and user pool with the same shapes.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

# The catalog the load test orders from: product_id -> (price, currency, active).
CATALOG: dict[str, tuple[str, str, bool]] = {
    **{f"P-{n:03d}": (f"{(n * 37) % 9000 / 100 + 1:.2f}", "USD", True) for n in range(1, 41)},
    "P-900": ("15.00", "USD", False),
    "P-901": ("99.99", "USD", False),
    "P-EUR": ("10.00", "EUR", True),
}


def product_item(product_id: str, price: str, currency: str, active: bool) -> dict[str, Any]:
    """The products table's item for one catalog entry (``CATALOG``'s shape), as the function reads it."""
    return {
        "product_id": {"S": product_id},
        "price": {"N": str(Decimal(price))},
        "currency": {"S": currency},
        "active": {"BOOL": active},
        "name": {"S": f"Product {product_id}"},
    }


def create_customer(cognito: Any, pool_id: str, username: str, password: str, customer_id: str) -> dict[str, str]:
    """A confirmed Cognito user with ``custom:customer_id``, as the load test logs in with."""
    cognito.admin_create_user(
        UserPoolId=pool_id,
        Username=username,
        UserAttributes=[
            {"Name": "email", "Value": username},
            {"Name": "email_verified", "Value": "true"},
            {"Name": "custom:customer_id", "Value": customer_id},
        ],
        MessageAction="SUPPRESS",
    )
    cognito.admin_set_user_password(UserPoolId=pool_id, Username=username, Password=password, Permanent=True)
    return {"username": username, "password": password, "customer_id": customer_id}
