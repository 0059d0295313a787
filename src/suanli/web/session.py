"""Signed-in browsers: a server-side session per browser, named by a random id in an
HttpOnly, SameSite=Strict cookie. The API token stays on the server; every request
authenticates it again, so a revoked or expired token ends the session at once.

Each session has its own CSRF token, which every form carries and every POST must return.
A browser gets an anonymous session (a CSRF token, no API token) on the sign-in page, so the
sign-in form is protected too; signing in replaces it with a new id (no fixation).

Sessions live in the server process's memory: a restart signs everyone out, which for a
dashboard over API tokens is the safe failure.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from dataclasses import dataclass, replace

COOKIE = "suanli_session"
LANG_COOKIE = "suanli_lang"
IDLE_S = 8 * 3600
MAX_SESSIONS = 10_000


@dataclass(frozen=True, slots=True)
class Session:
    id: str
    csrf: str
    token: str | None  # the API token of a signed-in browser; None before sign-in
    seen_at: float


class SessionStore:
    """Sessions by id, bounded in number and idle time."""

    def __init__(self, idle_s: float = IDLE_S, max_sessions: int = MAX_SESSIONS) -> None:
        self._by_id: dict[str, Session] = {}
        self._lock = threading.Lock()
        self.idle_s = idle_s
        self.max_sessions = max_sessions

    def new(self, token: str | None = None) -> Session:
        made = Session(secrets.token_urlsafe(32), secrets.token_urlsafe(32), token, time.time())
        with self._lock:
            self._prune(made.seen_at)
            self._by_id[made.id] = made
        return made

    def get(self, session_id: str | None) -> Session | None:
        if not session_id:
            return None
        now = time.time()
        with self._lock:
            found = self._by_id.get(session_id)
            if found is None or now - found.seen_at > self.idle_s:
                self._by_id.pop(session_id, None)
                return None
            found = self._by_id[session_id] = replace(found, seen_at=now)
        return found

    def drop(self, session_id: str | None) -> None:
        with self._lock:
            self._by_id.pop(session_id or "", None)

    def _prune(self, now: float) -> None:
        stale = [k for k, s in self._by_id.items() if now - s.seen_at > self.idle_s]
        for key in stale:
            del self._by_id[key]
        while len(self._by_id) >= self.max_sessions:  # the oldest go first
            del self._by_id[next(iter(self._by_id))]


def csrf_ok(session: Session | None, presented: str | None) -> bool:
    if session is None or not presented:
        return False
    return hmac.compare_digest(session.csrf.encode(), presented.encode())
