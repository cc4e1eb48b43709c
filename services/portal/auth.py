"""Who is signed in (S3): signed, expiring tokens, session cookies and CSRF tokens. Pure: no I/O.

Signing is itsdangerous's (HMAC-SHA1 over the payload and a timestamp, keyed by a derivation of the
secret per salt), so a token cannot be forged or altered without the secret, and its age is checked on
every use. Each kind of token has its own salt: a sign-in token is not a session cookie, and neither is
a CSRF token. Lifetimes are measured on the real clock, not the simulated one (T3 is about business
time; a credential expires in real time).

- Sign-in token: names a seller; the demo prints one link per seller. Also accepted as the JSON API's
  bearer token.
- Session cookie: the seller and a random nonce, set when a sign-in link is followed.
- CSRF token: a signature of the session's nonce; every form carries it and every POST must return it.
"""

from __future__ import annotations

import hmac
import re
import secrets
import time
from dataclasses import dataclass
from typing import Any, Literal

from itsdangerous import BadData, SignatureExpired, URLSafeTimedSerializer
from itsdangerous.signer import Signer

_SELLER_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")  # the contracts' EntityId


@dataclass(frozen=True)
class Session:
    seller_id: str
    nonce: str


@dataclass(frozen=True)
class Refused:
    """Why a token was not accepted, in words for the person holding it."""

    why: Literal["expired", "invalid"]

    @property
    def message(self) -> str:
        if self.why == "expired":
            return "This sign-in link or session has expired. Use a new sign-in link."
        return "This sign-in link or session is not valid. Use the link you were given, unchanged."


class _Serializer(URLSafeTimedSerializer):
    """A serializer whose timestamps can be set, so a test can make a token that is already old."""

    def __init__(self, secret: str, salt: str, now: Any) -> None:
        super().__init__(secret, salt=salt)
        self._now = now

    def make_signer(self, salt: Any = None) -> Any:
        signer = super().make_signer(salt)
        signer.get_timestamp = lambda: int(self._now())
        return signer


class Tokens:
    def __init__(self, secret: str, *, link_seconds: int, session_seconds: int, now: Any = time.time) -> None:
        if len(secret) < 32:
            raise ValueError("the portal's secret key must be at least 32 characters")
        self._sign_in = _Serializer(secret, "portal.sign-in", now)
        self._session = _Serializer(secret, "portal.session", now)
        self._csrf = Signer(secret, salt="portal.csrf")
        self.link_seconds = link_seconds
        self.session_seconds = session_seconds

    def sign_in_token(self, seller_id: str) -> str:
        if not _SELLER_ID.match(seller_id):
            raise ValueError(f"not a seller id: {seller_id!r}")
        return self._sign_in.dumps({"seller": seller_id})

    def seller_of(self, token: str) -> str | Refused:
        """The seller a sign-in (or API) token names, or why it is refused."""
        payload = _load(self._sign_in, token, self.link_seconds)
        if isinstance(payload, Refused):
            return payload
        seller = payload.get("seller") if isinstance(payload, dict) else None
        return seller if isinstance(seller, str) and _SELLER_ID.match(seller) else Refused("invalid")

    def new_session(self, seller_id: str) -> tuple[Session, str]:
        """A session for the seller and its cookie value."""
        session = Session(seller_id, secrets.token_urlsafe(16))
        return session, self._session.dumps({"seller": session.seller_id, "nonce": session.nonce})

    def session_of(self, cookie: str) -> Session | Refused:
        payload = _load(self._session, cookie, self.session_seconds)
        if isinstance(payload, Refused):
            return payload
        if not isinstance(payload, dict):
            return Refused("invalid")
        seller, nonce = payload.get("seller"), payload.get("nonce")
        if not (isinstance(seller, str) and _SELLER_ID.match(seller) and isinstance(nonce, str) and nonce):
            return Refused("invalid")
        return Session(seller, nonce)

    def csrf_token(self, session: Session) -> str:
        return self._csrf.get_signature(session.nonce).decode()

    def csrf_valid(self, session: Session, token: object) -> bool:
        return isinstance(token, str) and hmac.compare_digest(token.encode(), self.csrf_token(session).encode())


def _load(serializer: URLSafeTimedSerializer, token: str, max_age: int) -> Any:
    if not token or len(token) > 4096:
        return Refused("invalid")
    try:
        return serializer.loads(token, max_age=max_age)
    except SignatureExpired:
        return Refused("expired")
    except (BadData, ValueError, UnicodeError):
        return Refused("invalid")
