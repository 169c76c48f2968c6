"""Signed tokens for public forms, the secret that signs them, and keyed client addresses.

A token is `<issued unix time>.<HMAC-SHA256>`, the signature covering the form's purpose,
the time and the keyed hash of the client it was handed to: the server knows when and to
whom it gave the form out without storing anything, so a form sent back within seconds (a
script), hours later (a copied token), from another address (a token fetched once and
planted in pages elsewhere), or with a signature it did not make, is refused. The secret is
`web_form_secret`, or one generated once into `state_dir/secrets/form_secret` (0600) that
every ivr process on the state directory shares. Client addresses are stored only as an
HMAC under the same secret: the table counts visitors without holding their addresses.
"""

from __future__ import annotations

import base64
import enum
import functools
import hashlib
import hmac
import ipaddress
import os
import secrets
from datetime import datetime, timedelta
from pathlib import Path

from ivr.errors import ConfigError
from ivr.settings import Settings

# An IPv6 visitor gets a whole /64 from their provider: count them as one address.
IPV6_PREFIX = 64


class TokenProblem(enum.StrEnum):
    """What is wrong with a form token."""

    MISSING = "missing"
    FORGED = "forged"
    TOO_FAST = "too_fast"
    EXPIRED = "expired"


def secret_file(settings: Settings) -> Path:
    """Where the generated form secret lives."""
    return settings.state_dir / "secrets" / "form_secret"


def form_secret(settings: Settings) -> bytes:
    """The configured form secret, else the shared generated one (blocking file I/O)."""
    if settings.web_form_secret:
        return settings.web_form_secret.encode()
    return shared_secret(secret_file(settings))


@functools.cache
def shared_secret(path: Path) -> bytes:
    """The secret in `path`, created once (0600) if missing; the same for every process."""
    try:
        return _read(path)
    except FileNotFoundError:
        pass
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(secrets.token_urlsafe(32))
    try:
        # a link appears whole or not at all and never replaces: of processes starting
        # together one wins, and the others read its secret instead of their own
        os.link(draft, path)
    except FileExistsError:
        pass
    finally:
        draft.unlink()
    return _read(path)


def _read(path: Path) -> bytes:
    secret = path.read_text().strip()
    if not secret:
        raise ConfigError(f"the form secret file {path} is empty: delete it to generate one")
    return secret.encode()


def issue(secret: bytes, now: datetime, purpose: str, client: str) -> str:
    """A token for a form handed out `now` to `client` (its `client_key`), for `purpose`."""
    issued = str(int(now.timestamp()))
    return f"{issued}.{_mac(secret, purpose, client, issued)}"


def token_problem(
    secret: bytes,
    token: str,
    now: datetime,
    purpose: str,
    client: str,
    *,
    min_age: timedelta,
    max_age: timedelta,
) -> TokenProblem | None:
    """What is wrong with a token `client` sent back `now`, or None when it is good."""
    if not token:
        return TokenProblem.MISSING
    issued, _, mac = token.partition(".")
    expected = _mac(secret, purpose, client, issued)
    given = mac.encode("utf-8", "surrogateescape")
    if not hmac.compare_digest(given, expected.encode()) or not issued.isdigit():
        return TokenProblem.FORGED
    age = now.timestamp() - int(issued)
    if age < min_age.total_seconds():
        return TokenProblem.TOO_FAST
    if age > max_age.total_seconds():
        return TokenProblem.EXPIRED
    return None


def client_key(secret: bytes, remote: str | None) -> str:
    """The keyed hash (64 hex digits) a client address is counted under."""
    return hmac.new(
        secret, b"client:" + client_network(remote).encode(), hashlib.sha256
    ).hexdigest()


def client_network(remote: str | None) -> str:
    """An IPv4 address as it is, an IPv6 one as its /64; anything else as given."""
    try:
        address = ipaddress.ip_address(remote or "")
    except ValueError:
        return remote or "unknown"
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:  # ::ffff:1.2.3.4 from a dual-stack socket
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/{IPV6_PREFIX}", strict=False))
    return str(address)


def _mac(secret: bytes, purpose: str, client: str, issued: str) -> str:
    message = f"form:{purpose}:{client}:{issued}".encode("utf-8", "surrogateescape")
    digest = hmac.new(secret, message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")
