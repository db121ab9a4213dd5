"""The Zalo OA Open API as the bot uses it: the consultation (CS) message call and the token chain.

Zalo reports most failures as HTTP 200 with `error != 0`, so every answer is classified here into
"sent", "retry" or "undeliverable" for the outbox. The access token lives about 25 hours and the
refresh token rotates on every use (the old one dies), so the current pair is kept in the store's
kv table, written before it is used, and refreshed ahead of expiry by one refresher at a time.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiohttp

from bot.config import ZaloConfig
from bot.db import Store

log = logging.getLogger(__name__)

CS_PATH = "/v3.0/oa/message/cs"
TOKEN_PATH = "/v4/oa/access_token"
KV_TOKENS = "zalo.tokens"
DEFAULT_LIFETIME = 90000  # seconds; Zalo sends expires_in as a string, usually "90000" (25 h)
REFRESH_SHARE = 0.8  # refresh once this share of the lifetime has passed (~20 h of 25 h)
RETRY_REFRESH = 300.0  # seconds before a failed proactive refresh is tried again

# Error codes (HTTP 200, body "error"). Token problems: refresh once and resend.
TOKEN_ERRORS = {-216, -220, -124}
# Final: retrying cannot help. Each has the reason staff read in the console (Vietnamese; the outbox's
# `last_error` starts with it) and a short English detail for the log. -230/-232 say "reply window":
# `Store.requeue_closed_window` sends a staff answer again once the member writes (the window reopens).
FINAL_ERRORS: dict[int, tuple[str, str]] = {
    -213: ("Thành viên chưa quan tâm OA hoặc đã bỏ quan tâm nên không nhận được tin",
           "the user does not follow the OA (or blocked it)"),
    -227: ("Tài khoản Zalo của thành viên bị khóa hoặc không hoạt động quá 45 ngày",
           "the user is banned or inactive for more than 45 days"),
    -230: ("Thành viên không tương tác với OA trong 7 ngày qua, Zalo không cho gửi tin tư vấn",
           "reply window closed: no interaction in the past 7 days"),
    -232: ("Lần tương tác cuối của thành viên đã hết hạn, Zalo không cho gửi tin tư vấn",
           "reply window closed: the last interaction expired"),
    -244: ("Thành viên đã chặn nhận loại tin này từ OA",
           "the user restricts this message type from the OA"),
    -211: ("OA đã hết hạn mức (quota) gửi tin của Zalo",
           "out of quota"),
    -218: ("Đã quá giới hạn số tin Zalo cho gửi đến thành viên này",
           "per-user receiving quota exceeded"),
    -223: ("OA chưa cấp quyền gửi tin cho ứng dụng của bot (quản trị viên OA cần cấp quyền lại)",
           "the OA has not authorised this API for the app"),
    -219: ("Ứng dụng Zalo của bot đã bị gỡ hoặc vô hiệu hóa (kiểm tra trên developers.zalo.me)",
           "the app is removed or disabled"),
    -201: ("Zalo từ chối nội dung tin (tham số không hợp lệ)", "invalid parameter"),
    -210: ("Zalo từ chối nội dung tin (vượt giới hạn cho phép)", "parameter exceeds its limit"),
}
# The OA or the app itself is blocked: every reply will fail until an admin acts, so say so loudly.
ADMIN_ERRORS = {-211, -219, -223}
RATE_LIMIT_ERRORS = {-32}


@dataclass
class APIResult:
    """One API call's outcome, already classified for the outbox."""

    status: str  # "sent", "retry", "undeliverable", "token"
    error: str = ""
    message_id: str | None = None
    retry_after: float | None = None
    code: int | None = None


class RefreshError(Exception):
    """The token endpoint refused or failed; the message says why."""


class TokenManager:
    """The OA access/refresh token pair, persisted in kv, refreshed before expiry.

    The config's tokens seed the chain. Once the bot has refreshed, the database holds the only live
    refresh token; if the operator puts a different token in the config (a new authorisation), that
    one wins again.
    """

    def __init__(self, config: ZaloConfig, store: Store, session_factory: Callable[[], aiohttp.ClientSession],
                 clock: Callable[[], float] = time.time):
        self.config = config
        self.store = store
        self.session_factory = session_factory
        self.clock = clock
        self.lock = asyncio.Lock()
        self.access_token = config.access_token
        self.refresh_token = config.refresh_token
        self.expires_at = 0.0  # 0 = unknown (a token pasted into the config)
        self.refresh_at = 0.0
        self.refreshes = 0
        self.failed_until = 0.0  # after a failed refresh, do not hammer the token endpoint
        self._seed = hashlib.sha256(f"{config.access_token}\n{config.refresh_token}".encode()).hexdigest()[:16]
        self._load()

    @property
    def can_refresh(self) -> bool:
        return bool(self.refresh_token and self.config.app_id and self.config.app_secret)

    def _load(self) -> None:
        raw = self.store.get_kv(KV_TOKENS)
        try:
            saved = json.loads(raw) if raw else None
        except json.JSONDecodeError:
            saved = None
        if isinstance(saved, dict) and saved.get("seed") == self._seed:
            self.access_token = saved.get("access_token") or ""
            self.refresh_token = saved.get("refresh_token") or ""
            self.expires_at = float(saved.get("expires_at") or 0)
            self.refresh_at = float(saved.get("refresh_at") or 0)
        elif raw:
            log.info("Zalo tokens in the config differ from the stored chain; starting from the config")

    def _save(self) -> None:
        self.store.set_kv(KV_TOKENS, json.dumps({
            "seed": self._seed, "access_token": self.access_token, "refresh_token": self.refresh_token,
            "expires_at": self.expires_at, "refresh_at": self.refresh_at,
        }))

    def due(self) -> bool:
        """Refresh now? When the expiry is unknown or the refresh point has passed (and we can)."""
        if not self.can_refresh or self.clock() < self.failed_until:
            return False
        return not self.access_token or self.refresh_at == 0 or self.clock() >= self.refresh_at

    async def token(self) -> str:
        """A usable access token, refreshed first when it is about to expire."""
        if self.due():
            try:
                await self.refresh(stale=self.access_token)
            except RefreshError as exc:
                log.error("Zalo token refresh failed: %s", exc)
                self.failed_until = self.clock() + RETRY_REFRESH
        return self.access_token

    async def refresh(self, stale: str | None = None) -> str:
        """Exchange the refresh token for a new pair. `stale`: skip if someone already replaced it."""
        async with self.lock:
            if stale is not None and self.access_token != stale and not self.due():
                return self.access_token
            if not self.can_refresh:
                raise RefreshError("cannot refresh: zalo.app_id, zalo.app_secret and a refresh token are needed")
            url = self.config.oauth_base.rstrip("/") + TOKEN_PATH
            form = {"refresh_token": self.refresh_token, "app_id": self.config.app_id,
                    "grant_type": "refresh_token"}
            try:
                async with self.session_factory().post(url, data=form,
                                                       headers={"secret_key": self.config.app_secret}) as resp:
                    text = await resp.text()
                    status = resp.status
            except (aiohttp.ClientError, TimeoutError) as exc:
                raise RefreshError(f"token endpoint unreachable: {type(exc).__name__}: {exc}") from exc
            try:
                data = json.loads(text)
            except json.JSONDecodeError:
                data = None
            if not isinstance(data, dict) or not data.get("access_token") or not data.get("refresh_token"):
                detail = data if isinstance(data, dict) else text[:300]
                if isinstance(detail, dict) and detail.get("error") not in (None, 0):
                    log.error("Zalo refused the refresh token (%s). If it keeps failing, an OA admin must "
                              "authorise the app again and put the new tokens in the config.", detail)
                raise RefreshError(f"HTTP {status}: {detail}")
            lifetime = _seconds(data.get("expires_in"))
            now = self.clock()
            self.access_token = str(data["access_token"])
            self.refresh_token = str(data["refresh_token"])
            self.expires_at = now + lifetime
            self.refresh_at = now + lifetime * REFRESH_SHARE
            self.refreshes += 1
            self.failed_until = 0.0
            await self.store.run(self._save)  # the old refresh token is dead now: persist before anything else
            log.info("Zalo access token refreshed; valid for %d s", lifetime)
            return self.access_token

    def seconds_to_refresh(self) -> float | None:
        """How long the keeper may sleep; None when this process cannot refresh at all."""
        if not self.can_refresh:
            return None
        return max(0.0, self.refresh_at - self.clock()) if self.refresh_at else 0.0


class ZaloAPI:
    """The consultation-message call, with one refresh-and-resend on token errors."""

    def __init__(self, config: ZaloConfig, tokens: TokenManager,
                 session_factory: Callable[[], aiohttp.ClientSession]):
        self.config = config
        self.tokens = tokens
        self.session_factory = session_factory

    async def send_cs(self, user_id: str, message: dict[str, Any]) -> APIResult:
        body = {"recipient": {"user_id": user_id}, "message": message}
        token = await self.tokens.token()
        result = await self._post(token, body)
        if result.status == "token":
            try:
                token = await self.tokens.refresh(stale=token)
            except RefreshError as exc:
                return APIResult("retry", error=f"{result.error}; refresh failed: {exc}", code=result.code)
            result = await self._post(token, body)
            if result.status == "token":
                result = APIResult("retry", error=result.error, code=result.code)
        return result

    async def _post(self, token: str, body: dict[str, Any]) -> APIResult:
        if not token:
            return APIResult("retry", error="no Zalo access token (set zalo.access_token or a refresh token)")
        url = self.config.api_base.rstrip("/") + CS_PATH
        payload = json.dumps(body, ensure_ascii=False).encode("utf-8")
        try:
            async with self.session_factory().post(
                url, data=payload, headers={"access_token": token, "Content-Type": "application/json"}
            ) as resp:
                text = await resp.text()
                return classify(resp.status, text, resp.headers.get("Retry-After"))
        except (aiohttp.ClientError, TimeoutError) as exc:
            return APIResult("retry", error=f"network: {type(exc).__name__}: {exc}")


def classify(http_status: int, text: str, retry_after: str | None = None) -> APIResult:
    """Map an HTTP answer of the CS endpoint to sent / retry / undeliverable / token."""
    if http_status == 429:
        return APIResult("retry", error="HTTP 429 (rate limited)", retry_after=_retry_after(retry_after))
    if http_status >= 500:
        return APIResult("retry", error=f"HTTP {http_status} from Zalo")
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        data = None
    if not isinstance(data, dict):
        return APIResult("retry", error=f"HTTP {http_status}, unreadable body: {text[:200]!r}")
    code = data.get("error")
    try:
        code = int(code) if code is not None else None
    except (TypeError, ValueError):
        code = None
    message = str(data.get("message") or "")
    if code == 0 and http_status == 200:
        inner = data.get("data")
        mid = inner.get("message_id") if isinstance(inner, dict) else None
        return APIResult("sent", message_id=str(mid) if mid is not None else None, code=0)
    error = f"Zalo error {code}: {message}" if code is not None else f"HTTP {http_status}: {text[:200]}"
    if code in TOKEN_ERRORS:
        return APIResult("token", error=error, code=code)
    if code is not None and code in FINAL_ERRORS:
        reason, detail = FINAL_ERRORS[code]
        return APIResult("undeliverable", error=f"{reason} ({error}; {detail})", code=code)
    if code in RATE_LIMIT_ERRORS:
        return APIResult("retry", error=error, retry_after=60.0, code=code)
    # An error code not known to be final: retried with backoff, at most the outbox's max_attempts.
    return APIResult("retry", error=error, code=code)


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    with contextlib.suppress(ValueError):
        return max(0.0, min(float(value), 3600.0))
    return None


def _seconds(value: Any) -> int:
    try:
        seconds = int(str(value).strip())
    except (TypeError, ValueError):
        return DEFAULT_LIFETIME
    return seconds if seconds > 0 else DEFAULT_LIFETIME
