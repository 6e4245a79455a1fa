"""Console log-in: argon2 password hashes, encrypted cookie sessions, CSRF tokens, login throttling."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections import defaultdict, deque
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from bot import vocabulary

HASHER = PasswordHasher()
ROLES = vocabulary.ROLES


def hash_password(password: str) -> str:
    return HASHER.hash(password)


def verify_password(stored: str, password: str) -> bool:
    try:
        return HASHER.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def new_password() -> str:
    return secrets.token_urlsafe(12)


def session_key(configured: str | None, key_file: Path) -> bytes:
    """32 bytes for the session cookie's encryption: from the setting, else a key kept in var/."""
    if configured:
        return hashlib.sha256(configured.encode()).digest()
    if key_file.exists():
        return base64.urlsafe_b64decode(key_file.read_bytes())
    key = secrets.token_bytes(32)
    key_file.parent.mkdir(parents=True, exist_ok=True)
    key_file.write_bytes(base64.urlsafe_b64encode(key))
    key_file.chmod(0o600)
    return key


def csrf_token() -> str:
    return secrets.token_urlsafe(24)


def same_token(a: str | None, b: str | None) -> bool:
    return bool(a and b) and hmac.compare_digest(str(a), str(b))


class LoginThrottle:
    """At most `attempts` failed log-ins per login and per address in `window` seconds."""

    def __init__(self, attempts: int = 5, window: float = 900):
        self.attempts, self.window = attempts, window
        self._failures: dict[str, deque[float]] = defaultdict(deque)

    def _recent(self, key: str) -> deque[float]:
        failures = self._failures[key]
        while failures and failures[0] < time.monotonic() - self.window:
            failures.popleft()
        return failures

    def wait_seconds(self, *keys: str) -> int:
        """0 when a log-in may be tried, else the seconds until it may."""
        worst = 0.0
        for key in keys:
            failures = self._recent(key)
            if len(failures) >= self.attempts:
                worst = max(worst, failures[0] + self.window - time.monotonic())
        return int(worst) + (1 if worst else 0)

    def failed(self, *keys: str) -> None:
        for key in keys:
            self._recent(key).append(time.monotonic())

    def succeeded(self, *keys: str) -> None:
        for key in keys:
            self._failures.pop(key, None)
