"""Zalo OA webhook events: checking `X-ZEvent-Signature` and turning an event into an Incoming.

Pure functions, no I/O, so the rules that decide what is trusted and what is answered are easy to test.

Signature (best-corroborated form): `mac=` + hex(SHA-256(app_id + raw_body + timestamp + oa_secret_key)),
plain SHA-256 of the concatenation, not HMAC, over the body bytes exactly as received, with the
`timestamp` field from inside the body. Public sources disagree on details (the timestamp from an
`X-ZEvent-Timestamp` header, the OA id instead of the app id, the App secret instead of the OA secret
key), so those variants are accepted too (each still needs one of our secrets) and the variant that
matched is logged once, so an operator learns which one real traffic uses.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
from dataclasses import dataclass
from typing import Any

from bot.types import Incoming

log = logging.getLogger(__name__)

CHANNEL = "zalo"
PRIMARY = "app_id+body+timestamp+oa_secret_key"
# A button tap comes back as text "#<payload>"; payloads are short ASCII ids ("faq:e:x", "fb:+:12").
PAYLOAD_PREFIX = "#"
_PAYLOAD = re.compile(r"^#([a-z][a-z0-9_]*(?::[\x21-\x7e]{0,400})?)$")
# user_send_<kind> without text → the engine's "I only read text" answer.
ATTACHMENTS = {
    "image": "photo", "gif": "photo", "sticker": "sticker", "audio": "voice", "video": "video",
    "file": "file", "link": "link", "location": "location", "business_card": "contact",
}
# oa_send_<kind> without text: how the console describes it (staff read Vietnamese).
ECHO_KINDS = {"image": "Ảnh", "gif": "Ảnh GIF", "sticker": "Nhãn dán", "file": "Tệp", "audio": "Tin thoại",
              "video": "Video", "list": "Tin có danh sách", "location": "Vị trí", "other": "Tin nhắn"}
_seen_variants: set[str] = set()


@dataclass(frozen=True)
class Event:
    """What the webhook decided about one delivery."""

    action: str  # "message" (give to the engine), "echo" (the OA sent something), "unfollow", "ignore"
    incoming: Incoming | None = None
    reason: str = ""
    user_id: str = ""
    msg_id: str = ""  # "echo": the platform's id of the message the OA sent
    text: str = ""  # "echo": what the member saw (a short description for non-text messages)


def parse_signature(header: str | None) -> str:
    """The hex digest from `mac=<hex>` (prefix optional), lower-cased; '' when absent."""
    if not header:
        return ""
    got = header.strip()
    if got.lower().startswith("mac="):
        got = got[4:].strip()
    return got.lower()


def mac(first: str, raw: bytes, timestamp: str, secret: str) -> str:
    return hashlib.sha256(first.encode() + raw + timestamp.encode() + secret.encode()).hexdigest()


def verify(raw: bytes, header: str | None, body: dict[str, Any], app_id: str, oa_secret_key: str,
           app_secret: str = "", header_timestamp: str | None = None) -> str | None:
    """The name of the signature variant that matches, or None. Constant-time comparisons."""
    got = parse_signature(header)
    if not got or not oa_secret_key:
        return None
    app_id = app_id or _str(body.get("app_id"))
    timestamps = [_str(body.get("timestamp"))]
    if header_timestamp and header_timestamp not in timestamps:
        timestamps.append(header_timestamp)
    firsts = [("app_id", app_id)]
    oa_id = _oa_id(body)
    if oa_id and oa_id != app_id:
        firsts.append(("oa_id", oa_id))
    secrets = [("oa_secret_key", oa_secret_key)]
    if app_secret and app_secret != oa_secret_key:
        secrets.append(("app_secret", app_secret))
    matched = None
    for first_name, first in firsts:
        for ts_i, ts in enumerate(timestamps):
            for secret_name, secret in secrets:
                want = mac(first, raw, ts, secret)
                if hmac.compare_digest(want, got) and matched is None:
                    ts_name = "timestamp" if ts_i == 0 else "header_timestamp"
                    matched = f"{first_name}+body+{ts_name}+{secret_name}"
    if matched and matched != PRIMARY and matched not in _seen_variants:
        _seen_variants.add(matched)
        log.warning("Zalo webhook signature matched the variant %s, not %s", matched, PRIMARY)
    return matched


def is_probe(raw: bytes, header: str | None) -> bool:
    """Zalo's console check when the URL is saved: an unsigned POST with body `{}` (or empty)."""
    return not header and raw.strip() in (b"", b"{}")


def decode(raw: bytes) -> dict[str, Any] | None:
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        return None
    return data if isinstance(data, dict) else None


def to_event(body: dict[str, Any]) -> Event:
    """Decide what one verified event means for the bot. Never raises on odd shapes."""
    name = _str(body.get("event_name"))
    if not name:
        return Event("ignore", reason="no event_name")
    if "group" in name:
        return Event("ignore", reason=f"group chat event ({name})")
    if name.startswith("oa_send_"):
        return _echo(name, body)
    if name.startswith("oa_"):
        return Event("ignore", reason=f"OA event not handled ({name})")
    if name in ("follow", "unfollow"):
        user = _str(_dict(body.get("follower")).get("id")) or _str(_dict(body.get("sender")).get("id"))
        if not user:
            return Event("ignore", reason=f"{name} without follower id")
        if name == "unfollow":
            return Event("unfollow", user_id=user)
        platform_id = f"follow:{user}:{_str(body.get('timestamp'))}"
        return Event("message", Incoming(CHANNEL, user, payload="start", platform_id=platform_id), user_id=user)
    if not name.startswith("user_"):
        return Event("ignore", reason=f"not a user message ({name})")
    sender = _str(_dict(body.get("sender")).get("id"))
    if not sender:
        return Event("ignore", reason=f"{name} without sender id")
    message = _dict(body.get("message"))
    msg_id = _str(message.get("msg_id")) or _str(message.get("mid"))
    platform_id = msg_id or f"{name}:{sender}:{_str(body.get('timestamp'))}"
    if name == "user_click_button":
        raw_payload = message.get("payload") or message.get("text") or body.get("payload")
        payload = _payload_of(_str(raw_payload) if isinstance(raw_payload, str) else "")
        if payload is None:
            payload = _str(raw_payload)[:200] if isinstance(raw_payload, str) else ""
        if not payload:
            return Event("ignore", reason="button event without payload")
        return Event("message", Incoming(CHANNEL, sender, payload=payload, platform_id=platform_id), user_id=sender)
    if name == "user_send_text":
        text = message.get("text")
        text = text if isinstance(text, str) else ""
        payload = _payload_of(text.strip())
        if payload is not None:
            return Event("message", Incoming(CHANNEL, sender, payload=payload, platform_id=platform_id),
                         user_id=sender)
        return Event("message", Incoming(CHANNEL, sender, text=text, platform_id=platform_id), user_id=sender)
    kind = name.removeprefix("user_send_")
    if name.startswith("user_send_") and kind in ATTACHMENTS:
        caption = message.get("text") if isinstance(message.get("text"), str) else None
        inc = Incoming(CHANNEL, sender, text=caption or None, attachment=ATTACHMENTS[kind], platform_id=platform_id)
        return Event("message", inc, user_id=sender)
    return Event("ignore", reason=f"event not handled ({name})")


def _echo(name: str, body: dict[str, Any]) -> Event:
    """`oa_send_*`: a message the OA sent, through the API (our own replies) or typed by staff in Zalo's
    OA manager. Which one it was is decided by the channel, which knows the ids of what it sent."""
    user = _str(_dict(body.get("recipient")).get("id"))
    message = _dict(body.get("message"))
    msg_id = _str(message.get("msg_id")) or _str(message.get("mid"))
    if not user or not msg_id:
        return Event("ignore", reason=f"{name} without recipient or msg_id")
    raw_text = message.get("text")
    text = raw_text if isinstance(raw_text, str) else ""
    if not text.strip():
        kind = name.removeprefix("oa_send_")
        text = f"[{ECHO_KINDS.get(kind, ECHO_KINDS['other'])} gửi từ trang quản lý OA]"
    return Event("echo", user_id=user, msg_id=msg_id, text=text.strip())


def event_time(body: dict[str, Any], header_timestamp: str | None = None) -> float | None:
    """The event's `timestamp` (milliseconds since the epoch, sent as a string) in seconds, or None.
    The body's field is the signed one; an `X-ZEvent-Timestamp` header is used only without it."""
    raw = _str(body.get("timestamp")) or (header_timestamp or "").strip()
    if not raw.isdigit() or len(raw) > 16:
        return None
    return int(raw) / 1000.0


def staleness(body: dict[str, Any], now: float, max_age: float, skew: float,
              header_timestamp: str | None = None) -> str:
    """Why the event is outside the freshness window ('' when it is inside, or the check is off)."""
    if max_age <= 0:
        return ""
    at = event_time(body, header_timestamp)
    if at is None:
        return "no usable timestamp"
    if at > now + skew:
        return f"stamped {at - now:.0f} s in the future (more than the {skew:.0f} s clock-skew allowance)"
    if now - at > max_age + skew:
        return f"{now - at:.0f} s old (limit {max_age:.0f} s)"
    return ""


def _payload_of(text: str) -> str | None:
    m = _PAYLOAD.fullmatch(text)
    return m.group(1) if m else None


def _oa_id(body: dict[str, Any]) -> str:
    if body.get("oa_id"):
        return _str(body.get("oa_id"))
    name = _str(body.get("event_name"))
    side = "sender" if name.startswith("oa_") else "recipient"
    return _str(_dict(body.get(side)).get("id"))


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _str(value: Any) -> str:
    """Ids and timestamps arrive as strings; accept numbers too, never floats' exponent forms."""
    if isinstance(value, bool) or value is None:
        return ""
    if isinstance(value, int):
        return str(value)
    return value.strip() if isinstance(value, str) else ""
