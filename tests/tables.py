"""The tables tests make: a partition key ``pk`` (string) and a sort key ``sk``."""

from __future__ import annotations

from typing import Any


def pk_sk(sort_type: str = "S") -> dict[str, Any]:
    """``create_table`` arguments (all but the name) of an on-demand pk/sk table."""
    return {
        "KeySchema": [
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        "AttributeDefinitions": [
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": sort_type},
        ],
        "BillingMode": "PAY_PER_REQUEST",
    }
