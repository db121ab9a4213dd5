"""Configuration from a TOML file, with secrets from the environment.

Every key is documented in config.example.toml. A bad value stops start-up with a message naming the
key, so an operator never has to guess which line is wrong. With no file at all the bot runs on an
embedded default: web chat on 127.0.0.1 and a local SQLite file, no tokens needed.
"""

from __future__ import annotations

import ipaddress
import os
import re
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

DEFAULT_FILE = "config.toml"


class ConfigError(Exception):
    """A configuration problem; the message names the key."""


@dataclass
class AllianceConfig:
    name: str = "Liên minh Hợp tác xã tỉnh"
    phone: str = ""
    email: str = ""
    address: str = ""
    hours: str = "giờ hành chính, thứ Hai đến thứ Sáu"

    def contact(self) -> str:
        parts = [p for p in (self.phone and f"điện thoại {self.phone}", self.email and f"email {self.email}",
                             self.address) if p]
        return ", ".join(parts) if parts else "văn phòng " + self.name


@dataclass
class SearchConfig:
    answer_threshold: float = 0.45
    confident_threshold: float = 0.6
    clarify_threshold: float = 0.38
    margin: float = 0.1
    min_coverage: float = 0.3
    max_question_chars: int = 1000


@dataclass
class StorageConfig:
    path: str = "data/htx-bot.sqlite3"
    # Messages, replies and tickets older than this are anonymised (counts kept); 0 = keep forever.
    retention_days: int = 365


@dataclass
class KnowledgeConfig:
    path: str = ""
    # What the running bot adds (staff phrasings, staff entries): outside the git checkout, read on top of `path`.
    overlay_path: str = "data/knowledge-overlay"


@dataclass
class DialogConfig:
    expiry_minutes: int = 1440


@dataclass
class LimitsConfig:
    messages_per_minute: int = 20
    # Web chat, per client address (0 = no limit): messages a minute, and new users (posts without
    # the chat's cookie) an hour.
    address_messages_per_minute: int = 60
    address_new_users_per_hour: int = 20
    # No longer used: the client's address behind a proxy comes from `web.trusted_proxies`, as for the
    # console. Still read so old config files load; start-up warns when it is set.
    proxy_header: str = ""


@dataclass
class WebConfig:
    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = 8080
    # Names the console may be reached by (the Host header), besides the bound host and the loopback names.
    allowed_hosts: list[str] = field(default_factory=list)
    # Reverse proxies whose X-Forwarded-For / X-Forwarded-Proto are believed (addresses or networks).
    trusted_proxies: list[str] = field(default_factory=lambda: ["127.0.0.1", "::1"])
    # A console session ends after this long without a request, and in any case after session_hours.
    session_idle_minutes: int = 120
    session_hours: int = 12
    # No longer used: staff log in with their own accounts (`htx-bot staff add`). Still read so old
    # config files load; start-up warns when it is set.
    console_token: str = ""
    public_url: str = ""  # https://… where staff reach this server (links in staff notifications)


@dataclass
class ConsoleConfig:
    # A Telegram group (its chat id, e.g. -1001234567890) told about each new ticket; 0 = off.
    telegram_notify_chat_id: int = 0


@dataclass
class TelegramConfig:
    token: str = ""
    mode: str = "polling"
    base_url: str = "https://api.telegram.org/bot"
    webhook_url: str = ""
    secret_token: str = ""

    @property
    def enabled(self) -> bool:
        return bool(self.token)


@dataclass
class ZaloConfig:
    app_id: str = ""
    oa_secret_key: str = ""
    app_secret: str = ""
    access_token: str = ""
    refresh_token: str = ""
    api_base: str = "https://openapi.zalo.me"
    oauth_base: str = "https://oauth.zaloapp.com"
    webhook_path: str = "/zalo/webhook"
    # Webhook events older than this (their `timestamp`) are not processed: longer than Zalo's retry
    # ladder (about 1 h 50 min), so a retry after an outage still counts; 0 switches the check off.
    max_event_age_seconds: int = 10800
    clock_skew_seconds: int = 300  # events stamped this far in the future still count
    # Customer-service (CS) reply window, counted from the member's last message, tap or follow:
    # free up to `free_reply_hours`, billed by Zalo up to `max_reply_days`, refused after.
    free_reply_hours: int = 48
    max_reply_days: int = 7
    allow_billed_replies: bool = False
    reply_window_hours: int = 0  # deprecated name of free_reply_hours; 0 = not set
    # Single-source facts about the OA API, kept adjustable until confirmed on a real OA (docs/zalo.md).
    max_buttons: int = 5
    button_title_chars: int = 100
    button_format: str = "text"  # "text": message.text + buttons; "button": template_type "button"

    @property
    def enabled(self) -> bool:
        return bool(self.oa_secret_key and (self.access_token or self.refresh_token))


@dataclass
class Config:
    province: str = ""
    alliance: AllianceConfig = field(default_factory=AllianceConfig)
    search: SearchConfig = field(default_factory=SearchConfig)
    storage: StorageConfig = field(default_factory=StorageConfig)
    knowledge: KnowledgeConfig = field(default_factory=KnowledgeConfig)
    dialog: DialogConfig = field(default_factory=DialogConfig)
    limits: LimitsConfig = field(default_factory=LimitsConfig)
    web: WebConfig = field(default_factory=WebConfig)
    console: ConsoleConfig = field(default_factory=ConsoleConfig)
    telegram: TelegramConfig = field(default_factory=TelegramConfig)
    zalo: ZaloConfig = field(default_factory=ZaloConfig)
    source: str = "(embedded default)"


SECTIONS = {f.name: f.type for f in fields(Config) if f.name not in ("province", "source")}
# Secrets that may come from the environment instead of the file.
ENV_KEYS = {
    ("telegram", "token"): "HTX_TELEGRAM_TOKEN",
    ("telegram", "secret_token"): "HTX_TELEGRAM_SECRET_TOKEN",
    ("zalo", "oa_secret_key"): "HTX_ZALO_OA_SECRET_KEY",
    ("zalo", "app_secret"): "HTX_ZALO_APP_SECRET",
    ("zalo", "access_token"): "HTX_ZALO_ACCESS_TOKEN",
    ("zalo", "refresh_token"): "HTX_ZALO_REFRESH_TOKEN",
    ("web", "console_token"): "HTX_CONSOLE_TOKEN",
}


def load_config(path: str | Path | None = None, env: dict[str, str] | None = None) -> Config:
    """Load `path`, or config.toml when present, or the embedded default."""
    env = dict(os.environ) if env is None else env
    data: dict[str, Any] = {}
    source = "(embedded default)"
    if path is None and Path(DEFAULT_FILE).exists():
        path = DEFAULT_FILE
    if path is not None:
        p = Path(path)
        if not p.exists():
            raise ConfigError(f"config file not found: {p}")
        try:
            data = tomllib.loads(p.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{p}: not valid TOML: {exc}") from exc
        source = str(p)
    config = _build(data)
    config.source = source
    for (section, key), var in ENV_KEYS.items():
        if env.get(var):
            setattr(getattr(config, section), key, env[var])
    _validate(config)
    return config


def _build(data: dict[str, Any]) -> Config:
    config = Config()
    for key, value in data.items():
        if key == "province":
            if not isinstance(value, str):
                raise ConfigError("province: must be text, e.g. \"Kon Tum\"")
            config.province = value
            continue
        if key not in SECTIONS:
            raise ConfigError(f"unknown key [{key}] (known: province, {', '.join(SECTIONS)})")
        if not isinstance(value, dict):
            raise ConfigError(f"[{key}] must be a table")
        section = getattr(config, key)
        known = {f.name: f for f in fields(section)}
        for sub, subvalue in value.items():
            if sub not in known:
                raise ConfigError(f"unknown key {key}.{sub} (known: {', '.join(known)})")
            default = getattr(section, sub)
            expected = type(default)
            if expected is float and isinstance(subvalue, int) and not isinstance(subvalue, bool):
                subvalue = float(subvalue)
            if not isinstance(subvalue, expected) or (expected is int and isinstance(subvalue, bool)):
                raise ConfigError(
                    f"{key}.{sub}: expected {expected.__name__}, got {type(subvalue).__name__} {subvalue!r}"
                )
            setattr(section, sub, subvalue)
    return config


def _validate(config: Config) -> None:
    s = config.search
    for name in ("answer_threshold", "confident_threshold", "clarify_threshold", "margin", "min_coverage"):
        if not 0 <= getattr(s, name) <= 1:
            raise ConfigError(f"search.{name}: must be between 0 and 1")
    if s.clarify_threshold > s.answer_threshold:
        raise ConfigError("search.clarify_threshold: must not be above search.answer_threshold")
    if s.answer_threshold > s.confident_threshold:
        raise ConfigError("search.answer_threshold: must not be above search.confident_threshold")
    if s.max_question_chars < 50:
        raise ConfigError("search.max_question_chars: must be at least 50")
    if not 0 < config.web.port < 65536:
        raise ConfigError("web.port: must be between 1 and 65535")
    if config.telegram.mode not in ("polling", "webhook"):
        raise ConfigError("telegram.mode: must be \"polling\" or \"webhook\"")
    if config.telegram.mode == "webhook" and config.telegram.token and not config.telegram.webhook_url:
        raise ConfigError("telegram.webhook_url: required when telegram.mode = \"webhook\"")
    if config.telegram.secret_token and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", config.telegram.secret_token):
        raise ConfigError("telegram.secret_token: 1-256 characters of A-Z, a-z, 0-9, _ and - only")
    z = config.zalo
    if z.button_format not in ("text", "button"):
        raise ConfigError("zalo.button_format: must be \"text\" or \"button\"")
    if z.reply_window_hours:  # the old name, kept so existing config files still load
        z.free_reply_hours = z.reply_window_hours
    if z.free_reply_hours < 1 or z.max_buttons < 1 or z.button_title_chars < 5:
        raise ConfigError("zalo.free_reply_hours and zalo.max_buttons must be at least 1, "
                          "zalo.button_title_chars at least 5")
    if z.max_reply_days * 24 < z.free_reply_hours:
        raise ConfigError("zalo.max_reply_days: must not end before zalo.free_reply_hours")
    if z.max_event_age_seconds and z.max_event_age_seconds < 60:
        raise ConfigError("zalo.max_event_age_seconds: at least 60, or 0 to accept events of any age")
    if not 0 <= z.clock_skew_seconds <= 3600 or z.max_event_age_seconds < 0:
        raise ConfigError("zalo.clock_skew_seconds: between 0 and 3600; zalo.max_event_age_seconds: not negative")
    if config.dialog.expiry_minutes < 1:
        raise ConfigError("dialog.expiry_minutes: must be at least 1")
    if config.limits.messages_per_minute < 1:
        raise ConfigError("limits.messages_per_minute: must be at least 1")
    for name in ("address_messages_per_minute", "address_new_users_per_hour"):
        if getattr(config.limits, name) < 0:
            raise ConfigError(f"limits.{name}: must be 0 (no limit) or more")
    if config.storage.retention_days < 0:
        raise ConfigError("storage.retention_days: must be 0 (keep forever) or more")
    w = config.web
    for key in ("allowed_hosts", "trusted_proxies"):
        if not all(isinstance(v, str) and v.strip() for v in getattr(w, key)):
            raise ConfigError(f"web.{key}: must be a list of names, e.g. [\"htx.example.vn\"]")
    try:
        for value in w.trusted_proxies:
            ipaddress.ip_network(value.strip(), strict=False)
    except ValueError as exc:
        raise ConfigError(f"web.trusted_proxies: not an address or network: {exc}") from exc
    if w.session_idle_minutes < 1 or w.session_hours < 1:
        raise ConfigError("web.session_idle_minutes and web.session_hours: must be at least 1")
    if not config.storage.path:
        raise ConfigError("storage.path: required")
