"""S5: is a tracking id one of its carrier's published formats? Pure: no I/O.

The formats, check digits included, come from the `tracking-numbers` package (PyPI), the Python
edition of the community-kept `tracking_number_data` definitions: UPS, FedEx (Express, Ground,
SmartPost, SSCC-18), USPS (20, 22/34 and 91 forms), DHL Express, Amazon Logistics, OnTrac, CDL Last
Mile and the UPU S10 format international post items carry (RR123456785GB), which national posts use.

A carrier is named by the seller in free text, so names are folded (case, spaces, punctuation) and
matched against the aliases below. An id is valid when a definition of that carrier matches it whole
and its check digit and other validations pass. A carrier we do not know has no published format to
check against, so its ids are reported invalid, as the marketplaces' valid-tracking rate does for
carriers they do not integrate with. An invalid id never blocks a confirmation (S5); it is counted.
"""

from __future__ import annotations

import re

from tracking_numbers import DEFINITIONS

# Courier codes of the library for each carrier name a seller may type, folded by `_fold`.
# Postal operators hand out S10 numbers for international items; USPS also for its own.
_POSTS = ("royalmail", "canadapost", "laposte", "deutschepost", "australiapost", "japanpost", "postnl", "correos", "poste", "posteitaliane")
CARRIERS: dict[str, tuple[str, ...]] = {
    "ups": ("ups",),
    "unitedparcelservice": ("ups",),
    "fedex": ("fedex",),
    "federalexpress": ("fedex",),
    "usps": ("usps", "s10"),
    "unitedstatespostalservice": ("usps", "s10"),
    "dhl": ("dhl",),
    "dhlexpress": ("dhl",),
    "amazon": ("amazon",),
    "amazonlogistics": ("amazon",),
    "amzl": ("amazon",),
    "ontrac": ("ontrac",),
    "cdl": ("cdl",),
    "cdllastmile": ("cdl",),
    **{post: ("s10",) for post in _POSTS},
}


def _fold(carrier: str) -> str:
    return re.sub(r"[^a-z0-9]", "", carrier.lower())


def known_carrier(carrier: str) -> bool:
    return _fold(carrier) in CARRIERS


def is_valid_tracking(carrier: str, tracking_id: str) -> bool:
    """True when `tracking_id` is a well-formed tracking number of `carrier` (S5).

    Spaces inside the id are ignored (sellers paste "1Z 999 AA1 01 2345 6784"), and so is the case of
    letters: the id is tried as typed and in upper case, as most carriers print them (CDL's are lower case).
    """
    couriers = CARRIERS.get(_fold(carrier))
    if not couriers:
        return False
    number = re.sub(r"\s+", "", tracking_id)
    if not number or len(number) > 64:
        return False
    candidates = dict.fromkeys((number, number.upper()))
    for definition in DEFINITIONS:
        if definition.courier.code in couriers:
            for candidate in candidates:
                found = definition.test(candidate)
                if found is not None and found.valid:
                    return True
    return False
