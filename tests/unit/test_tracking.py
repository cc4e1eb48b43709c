"""S5: tracking ids checked against their carrier's published formats (services/orders/tracking.py)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.orders.tracking import CARRIERS, is_valid_tracking, known_carrier

pytestmark = pytest.mark.unit

# Well-formed numbers whose check digits pass, one or more per carrier the module knows.
VALID = [
    ("UPS", "1Z5R89390357567127"),
    ("ups", "1Z 5R8 939 03 5756 7127"),  # spaced as printed on the label
    ("UPS", "1z879e930346834440"),  # typed in lower case
    ("FedEx", "986578788855"),
    ("Federal Express", "449044304137821"),
    ("USPS", "9405511899223197428490"),
    ("USPS", "EA123456785US"),  # S10, international
    ("Royal Mail", "RB123456785GB"),
    ("Amazon Logistics", "TBA123456789012"),
    ("OnTrac", "C11031500001879"),
    ("CDL", "abcdef0123"),
    ("DHL", "1234567891"),  # DHL Express: nine digits and their remainder by 7
]


@pytest.mark.parametrize(("carrier", "tracking_id"), VALID)
def test_S5_a_published_format_with_a_passing_check_digit_is_valid(carrier: str, tracking_id: str) -> None:
    assert is_valid_tracking(carrier, tracking_id)


@pytest.mark.parametrize(
    ("carrier", "tracking_id"),
    [
        ("UPS", "1Z5R89390357567128"),  # last digit is not the check digit
        ("FedEx", "986578788856"),
        ("Royal Mail", "RB123456784GB"),
        ("DHL", "1234567892"),
        ("UPS", "TRACK-123"),
        ("UPS", ""),
        ("UPS", "   "),
        ("UPS", "1Z5R89390357567127" * 4),
    ],
)
def test_S5_a_wrong_check_digit_or_shape_is_invalid(carrier: str, tracking_id: str) -> None:
    assert not is_valid_tracking(carrier, tracking_id)


def test_S5_a_number_of_another_carrier_is_invalid() -> None:
    assert is_valid_tracking("UPS", "1Z5R89390357567127")
    assert not is_valid_tracking("FedEx", "1Z5R89390357567127")
    assert not is_valid_tracking("Royal Mail", "986578788855")


@pytest.mark.parametrize("carrier", ["Pigeon Post", "", "other", "ÜPS"])
def test_S5_an_unknown_carrier_has_no_format_to_pass(carrier: str) -> None:
    assert not known_carrier(carrier)
    assert not is_valid_tracking(carrier, "1Z5R89390357567127")


def test_S5_carrier_names_are_folded() -> None:
    assert known_carrier("Fed-Ex") and known_carrier("  u.p.s ") and known_carrier("UNITED STATES POSTAL SERVICE")
    assert set(CARRIERS.values()) <= {("ups",), ("fedex",), ("usps", "s10"), ("dhl",), ("amazon",), ("ontrac",), ("cdl",), ("s10",)}


@given(carrier=st.sampled_from([*CARRIERS, "unknown"]), tracking_id=st.text(max_size=80))
def test_S5_any_text_gives_an_answer_and_never_raises(carrier: str, tracking_id: str) -> None:
    assert is_valid_tracking(carrier, tracking_id) in (True, False)
