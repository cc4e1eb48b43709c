"""S3: sign-in tokens, sessions and CSRF tokens are signed, kept apart by purpose, and expire."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.portal.app import PortalSettings
from services.portal.auth import Refused, Session, Tokens
from services.portal.links import describe, sign_in_link

pytestmark = pytest.mark.unit

SECRET = "unit-test-secret-0123456789abcdefghij"


def tokens(now: float = 1_000_000.0) -> Tokens:
    return Tokens(SECRET, link_seconds=3600, session_seconds=600, now=lambda: now)


def test_S3_a_sign_in_token_names_its_seller_until_it_expires() -> None:
    token = tokens(1_000_000).sign_in_token("seller-a")
    assert tokens(1_000_000 + 3600).seller_of(token) == "seller-a"
    assert tokens(1_000_000 + 3601).seller_of(token) == Refused("expired")
    assert "expired" in Refused("expired").message


def test_S3_a_changed_character_or_another_key_makes_a_token_invalid() -> None:
    token = tokens().sign_in_token("seller-a")
    for i in range(len(token)):
        changed = token[:i] + ("A" if token[i] != "A" else "B") + token[i + 1 :]
        assert tokens().seller_of(changed) in (Refused("invalid"), Refused("expired"))
    other = Tokens("another-secret-0123456789abcdefghijkl", link_seconds=3600, session_seconds=600, now=lambda: 1_000_000.0)
    assert tokens().seller_of(other.sign_in_token("seller-a")) == Refused("invalid")


def test_S3_tokens_of_one_purpose_are_not_accepted_for_another() -> None:
    t = tokens()
    session, cookie = t.new_session("seller-a")
    assert t.session_of(cookie) == session
    assert t.seller_of(cookie) == Refused("invalid")
    assert t.session_of(t.sign_in_token("seller-a")) == Refused("invalid")
    assert t.csrf_valid(session, t.csrf_token(session))
    assert not t.csrf_valid(Session("seller-a", "another-nonce"), t.csrf_token(session))
    assert not t.csrf_valid(session, None) and not t.csrf_valid(session, "")


def test_S3_a_session_expires() -> None:
    _, cookie = tokens(1_000_000).new_session("seller-a")
    assert tokens(1_000_000 + 601).session_of(cookie) == Refused("expired")


@given(st.text(max_size=200))
def test_S3_any_text_is_refused_without_raising(text: str) -> None:
    assert isinstance(tokens().seller_of(text), Refused)
    assert isinstance(tokens().session_of(text), Refused)


def test_a_secret_shorter_than_32_characters_is_refused() -> None:
    with pytest.raises(ValueError, match="32"):
        Tokens("short", link_seconds=60, session_seconds=60)
    with pytest.raises(ValueError, match="seller id"):
        tokens().sign_in_token("../etc")


def test_the_demo_prints_the_address_and_one_link_per_seller() -> None:
    settings = PortalSettings(portal_secret_key=SECRET, portal_port=18081)
    link = sign_in_link(settings, "seller-a")
    assert link.startswith("http://127.0.0.1:18081/signin?token=")
    text = describe(["seller-a", "seller-b"], settings)
    assert "http://127.0.0.1:18081" in text.splitlines()[0]
    assert [line.split()[1] for line in text.splitlines()[1:]] == ["seller-a", "seller-b"]
