"""A fake Zalo platform on 127.0.0.1 for tests: the OA Open API, the OAuth token endpoint, and the
webhook sender (signed events posted to the bot).

It checks what the real platform is documented to check (the `access_token` header, the `secret_key`
header and a single-use rotating refresh token, text length, button count and title length) and can
be told to fail the next calls with an `error != 0` body, HTTP 429 or a 5xx.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

APP_ID = "1234567890"
OA_ID = "388613280878808645"
OA_SECRET = "TEST_OA_SECRET"
APP_SECRET = "TEST_APP_SECRET"


def sign(raw: bytes, timestamp: str, app_id: str = APP_ID, secret: str = OA_SECRET) -> str:
    """Zalo's webhook MAC: sha256(app_id + body + timestamp + OA secret key), sent as `mac=<hex>`."""
    return "mac=" + hashlib.sha256(app_id.encode() + raw + timestamp.encode() + secret.encode()).hexdigest()


_counter = itertools.count(1)


def now_ms(at: float | None = None) -> str:
    """An event `timestamp` as Zalo sends it: milliseconds since the epoch, as a string."""
    return str(int((time.time() if at is None else at) * 1000))


def text_event(user: str, text: str, msg_id: str | None = None, timestamp: str | None = None,
               event_name: str = "user_send_text") -> dict[str, Any]:
    n = next(_counter)
    return {
        "app_id": APP_ID, "user_id_by_app": f"9{user}", "event_name": event_name,
        "sender": {"id": user}, "recipient": {"id": OA_ID},
        "message": {"text": text, "msg_id": msg_id or f"msg{n:08d}"},
        "timestamp": timestamp or now_ms(),
    }


def follow_event(user: str, name: str = "follow", timestamp: str | None = None) -> dict[str, Any]:
    return {"oa_id": OA_ID, "follower": {"id": user}, "user_id_by_app": f"9{user}", "event_name": name,
            "source": "oa_profile", "app_id": APP_ID, "timestamp": timestamp or now_ms()}


def echo_event(user: str, text: str, msg_id: str | None = None, event_name: str = "oa_send_text",
               timestamp: str | None = None) -> dict[str, Any]:
    """What Zalo sends after the OA itself sent a message (through the API, or typed by staff in the
    OA manager): sender and recipient swapped."""
    n = next(_counter)
    message: dict[str, Any] = {"msg_id": msg_id or f"oa{n:08d}"}
    if text:
        message["text"] = text
    return {"app_id": APP_ID, "event_name": event_name, "sender": {"id": OA_ID}, "recipient": {"id": user},
            "message": message, "timestamp": timestamp or now_ms()}


def encode(event: dict[str, Any]) -> bytes:
    """Compact JSON with non-ASCII kept, like the platform's own bodies."""
    return json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


@dataclass
class Sent:
    user_id: str
    message: dict[str, Any]
    token: str
    message_id: str = ""

    @property
    def text(self) -> str:
        if "text" in self.message:
            return self.message["text"]
        return self.message.get("attachment", {}).get("payload", {}).get("text", "")

    @property
    def buttons(self) -> list[dict[str, Any]]:
        return self.message.get("attachment", {}).get("payload", {}).get("buttons", [])


@dataclass
class FakeZalo:
    access_token: str = "AT-0"
    refresh_token: str = "RT-0"
    expires_in: str = "90000"
    max_buttons: int = 5
    title_chars: int = 100
    sent: list[Sent] = field(default_factory=list)
    calls: list[tuple[str, Any]] = field(default_factory=list)  # every call, failed ones too
    refreshes: list[dict[str, str]] = field(default_factory=list)
    failures: list[tuple[int, dict[str, Any] | None, dict[str, str]]] = field(default_factory=list)
    runner: web.AppRunner | None = None
    url: str = ""

    # --- scripting failures ---------------------------------------------------------------------

    def fail_next(self, status: int = 200, body: dict[str, Any] | None = None,
                  headers: dict[str, str] | None = None) -> None:
        """The next CS call answers with this instead of sending (HTTP status, JSON body, headers)."""
        self.failures.append((status, body, headers or {}))

    def expire_access_token(self) -> None:
        """The current access token stops working (as after its 25 hours)."""
        self.access_token = f"AT-unissued-{len(self.calls)}"

    # --- server ---------------------------------------------------------------------------------

    def make_app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v3.0/oa/message/cs", self._cs)
        app.router.add_post("/v4/oa/access_token", self._token)
        return app

    async def start(self) -> str:
        self.runner = web.AppRunner(self.make_app(), access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = self.runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"
        return self.url

    async def stop(self) -> None:
        if self.runner:
            await self.runner.cleanup()

    async def _cs(self, request: web.Request) -> web.Response:
        token = request.headers.get("access_token", "")
        try:
            body = json.loads(await request.text())
        except json.JSONDecodeError:
            return web.json_response({"error": -201, "message": "invalid json"})
        self.calls.append(("cs", body))
        if self.failures:
            status, fail_body, headers = self.failures.pop(0)
            if fail_body is None:
                return web.Response(status=status, text="upstream trouble", headers=headers)
            return web.json_response(fail_body, status=status, headers=headers)
        if not token or token != self.access_token:
            return web.json_response({"error": -216, "message": "Access token is invalid"})
        user = (body.get("recipient") or {}).get("user_id")
        message = body.get("message") or {}
        problem = self._check(message)
        if not user:
            problem = "recipient.user_id missing"
        if problem:
            return web.json_response({"error": -201, "message": problem})
        message_id = f"zmsg{len(self.sent) + 1}"
        self.sent.append(Sent(user, message, token, message_id))
        return web.json_response({"error": 0, "message": "Success",
                                  "data": {"message_id": message_id, "user_id": user}})

    def _check(self, message: dict[str, Any]) -> str:
        attachment = message.get("attachment")
        text = message.get("text", "")
        if attachment:
            payload = attachment.get("payload") or {}
            text = text or payload.get("text", "")
            buttons = payload.get("buttons") or []
            if attachment.get("type") != "template" or not buttons:
                return "unsupported attachment"
            if len(buttons) > self.max_buttons:
                return f"too many buttons ({len(buttons)})"
            for b in buttons:
                if b.get("type") not in ("oa.query.show", "oa.query.hide", "oa.open.url"):
                    return f"bad button type {b.get('type')}"
                if not b.get("title") or len(b["title"]) > self.title_chars:
                    return f"bad button title {b.get('title')!r}"
                if not isinstance(b.get("payload"), str) or len(b["payload"]) > 1000:
                    return "bad button payload"
        if not isinstance(text, str) or not text:
            return "text missing"
        if len(text) > 2000:
            return f"text too long ({len(text)})"
        return ""

    async def _token(self, request: web.Request) -> web.Response:
        form = dict(await request.post())
        self.calls.append(("token", form))
        if request.headers.get("secret_key") != APP_SECRET:
            return web.json_response({"error": -14014, "error_name": "Invalid secret key",
                                      "error_description": "secret key is invalid"})
        if form.get("grant_type") != "refresh_token" or form.get("app_id") != APP_ID:
            return web.json_response({"error": -14003, "error_description": "invalid parameters"})
        if form.get("refresh_token") != self.refresh_token:
            return web.json_response({"error": -14014, "error_description": "refresh token is invalid or used"})
        n = len(self.refreshes) + 1
        self.refreshes.append(form)
        self.access_token, self.refresh_token = f"AT-{n}", f"RT-{n}"
        return web.json_response({"access_token": self.access_token, "refresh_token": self.refresh_token,
                                  "expires_in": self.expires_in})


async def post_event(webhook_url: str, event: dict[str, Any] | None = None, raw: bytes | None = None,
                     signature: str | None = "auto") -> tuple[int, str]:
    """Deliver one event the way Zalo does: exact bytes, `X-ZEvent-Signature: mac=...`."""
    raw = encode(event) if raw is None else raw
    headers = {"Content-Type": "application/json"}
    if signature == "auto":
        signature = sign(raw, str((event or {}).get("timestamp", "")))
    if signature is not None:
        headers["X-ZEvent-Signature"] = signature
    async with aiohttp.ClientSession() as session, session.post(webhook_url, data=raw, headers=headers) as resp:
        return resp.status, await resp.text()
