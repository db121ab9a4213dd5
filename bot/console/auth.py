"""Staff accounts' rules: roles, password hashing (argon2), names, and the login throttle.

The throttle must slow guessing without ever locking the real staff out, even behind a reverse proxy
where every request seems to come from one address:

- a correct password for an account, from an address that logged in to that account recently, is always
  accepted, whatever happened before;
- otherwise the (account, address) pair gets an exponential delay after a few failures;
- failures on an account from addresses that never logged in to it slow further tries on that account
  from such addresses only (a guesser spreading over many addresses);
- failures from one address on any accounts slow that address only while no one has logged in from it
  recently (an office proxy where staff log in every day is never slowed as a whole).
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from bot.db.staff import LoginHistory

ROLES = ("viewer", "staff", "editor", "admin")
USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{1,31}")
MIN_PASSWORD = 10
MAX_PASSWORD = 256
MAX_NAME = 80

# argon2id at OWASP's recommended minimum (19 MiB, 2 passes, 1 lane): the 2-core, 150 MB budget of this
# service has no room for 64 MiB per login on top of the bot. Hashes made with other settings still verify.
# Tests swap in a cheaper one.
HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)

# Throttle: failures are counted in WINDOW; an address is "known" for an account after a success in KNOWN.
WINDOW = 24 * 3600.0
KNOWN = 30 * 24 * 3600.0
KEEP_ATTEMPTS = KNOWN  # login attempts older than this are deleted
PAIR_FREE = 5  # wrong passwords per (account, address) before the delay starts
ACCOUNT_FREE = 10  # ... per account from addresses that never logged in to it
ADDRESS_FREE = 20  # ... per address that no one logged in from recently
FIRST_DELAY = 2.0  # seconds after the first failure beyond the free ones, doubling each time
MAX_DELAY = 15 * 60.0
TARPIT = 3.0  # at most this long before answering a wrong password from a known pair


class AccountError(ValueError):
    """A username, name, role or password that is not acceptable; the message is Vietnamese, for staff."""


@dataclass(frozen=True)
class Staff:
    """A logged-in staff member, as handlers see them (`current_staff(request)`)."""

    id: int
    username: str
    display_name: str
    role: str

    def can(self, role: str) -> bool:
        return at_least(self.role, role)


def at_least(role: str, needed: str) -> bool:
    """viewer < staff < editor < admin; an unknown role has no rights."""
    if role not in ROLES or needed not in ROLES:
        return False
    return ROLES.index(role) >= ROLES.index(needed)


# --- names and passwords ------------------------------------------------------------------------------


def normalize_username(value: str | None) -> str:
    return (value or "").strip().lower()[:64]


def check_username(value: str) -> str:
    username = normalize_username(value)
    if not USERNAME.fullmatch(username):
        raise AccountError("Tên đăng nhập gồm 2–32 ký tự: chữ thường không dấu, số, dấu chấm, gạch nối "
                           "hoặc gạch dưới, bắt đầu bằng chữ hoặc số.")
    return username


def check_display_name(value: str | None, username: str) -> str:
    name = " ".join(unicodedata.normalize("NFC", value or "").split())
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    if len(name) > MAX_NAME:
        raise AccountError(f"Tên hiển thị tối đa {MAX_NAME} ký tự.")
    return name or username


def check_role(value: str | None) -> str:
    if value not in ROLES:
        raise AccountError("Vai trò phải là một trong: " + ", ".join(ROLES) + ".")
    return value


def check_password(value: str) -> str:
    if len(value) < MIN_PASSWORD:
        raise AccountError(f"Mật khẩu cần ít nhất {MIN_PASSWORD} ký tự.")
    if len(value) > MAX_PASSWORD:
        raise AccountError(f"Mật khẩu tối đa {MAX_PASSWORD} ký tự.")
    if value != value.strip():
        raise AccountError("Mật khẩu không được bắt đầu hay kết thúc bằng khoảng trắng.")
    return value


def random_password() -> str:
    """A password to hand over once (first start, an admin's reset): ~120 bits, easy to type."""
    alphabet = "abcdefghijkmnpqrstuvwxyzACDEFGHJKLMNPQRTUVWXY34679"
    groups = ["".join(secrets.choice(alphabet) for _ in range(5)) for _ in range(4)]
    return "-".join(groups)


def hash_password(password: str) -> str:
    return HASHER.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return HASHER.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    try:
        return HASHER.check_needs_rehash(password_hash)
    except (InvalidHashError, ValueError):
        return False


_DUMMY: list[str] = []


def dummy_verify(password: str) -> None:
    """Spend the time of a real check when the username does not exist, so timing does not tell."""
    if not _DUMMY:
        _DUMMY.append(hash_password(secrets.token_hex(16)))
    verify_password(_DUMMY[0], password)


# --- throttle --------------------------------------------------------------------------------------------


def _until(failures: int, last: float | None, free: int) -> float:
    if failures < free or last is None:
        return 0.0
    return last + min(FIRST_DELAY * 2 ** (failures - free), MAX_DELAY)


def wait_seconds(history: LoginHistory, now: float) -> float:
    """How long this (account, address) must wait before a password is checked at all; 0 = check now.

    A pair that logged in recently never waits: its correct password is always accepted.
    """
    if history.known_pair:
        return 0.0
    until = [_until(history.pair_failures, history.pair_last, PAIR_FREE),
             _until(history.account_failures, history.account_last, ACCOUNT_FREE)]
    if not history.known_address:
        until.append(_until(history.address_failures, history.address_last, ADDRESS_FREE))
    return max(0.0, max(until) - now)


def tarpit_seconds(history: LoginHistory) -> float:
    """A pause before answering a wrong password from a known pair, so a guesser behind the same proxy
    as the staff is slowed without refusing the right password (the real user never waits for it)."""
    return min(_until(history.pair_failures, 0.0, PAIR_FREE), TARPIT)
