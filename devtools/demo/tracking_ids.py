"""Tracking ids the simulated sellers type: UPS numbers, most with the right check digit, some with a typo.

A UPS tracking number is `1Z`, a 6-character shipper number, a 2-digit service code, a 7-digit package
number and a check digit computed over the 15 characters after `1Z` (letters count as (ASCII - 63) mod 10;
characters in even places count twice). Changing the last digit keeps the number looking right to a
person while making it fail the carrier's check, which is what the orders service's S5 check catches.
"""

from __future__ import annotations

CARRIER = "UPS"
SERVICE_GROUND = "03"


def _value(char: str) -> int:
    return int(char) if char.isdigit() else (ord(char) - 63) % 10


def ups_check_digit(body: str) -> int:
    """The check digit of the 15 characters between `1Z` and the check digit."""
    total = sum(_value(char) * (2 if i % 2 else 1) for i, char in enumerate(body.upper()))
    return (10 - total % 10) % 10


def ups_tracking_id(shipper: str, package: int, *, valid: bool = True) -> str:
    """A UPS number for `shipper` (6 characters) and `package` (up to 7 digits); with a wrong
    check digit when not `valid`."""
    if len(shipper) != 6 or not shipper.isalnum():
        raise ValueError("a UPS shipper number has 6 letters or digits")
    body = f"{shipper.upper()}{SERVICE_GROUND}{package % 10_000_000:07d}"
    check = ups_check_digit(body)
    return f"1Z{body}{check if valid else (check + 1) % 10}"
