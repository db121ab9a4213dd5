"""Staff accounts, their server-side console sessions, login attempts and the audit log.

Passwords arrive here already hashed (bot/console/auth.py); session ids arrive as their SHA-256, so
neither a password nor a live session can be read back from the database. Changing a password or
disabling an account deletes the account's sessions in the same transaction: revocation is immediate.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

from bot.db.connection import Connection, Row

AUDIT_DETAIL = 2000  # characters of detail kept per audit row


@dataclass(frozen=True)
class LoginHistory:
    """What the throttle needs to know about one (account, address) pair at one moment."""

    known_pair: bool  # this address logged in to this account successfully, recently
    known_address: bool  # this address logged in to some account successfully, recently
    pair_failures: int  # failures of the pair since its last success, within the window
    pair_last: float | None
    account_failures: int  # failures on the account from addresses that never logged in to it
    account_last: float | None
    address_failures: int  # failures from the address on any account, since its last success
    address_last: float | None


class StaffAccounts(Connection):
    # --- accounts -----------------------------------------------------------------------------------------

    def create_staff(self, username: str, display_name: str, role: str, password_hash: str) -> int | None:
        """A new active account; None when the username is taken."""
        now = self.clock()
        try:
            with self.transaction():
                cur = self._execute(
                    """insert into staff (username, display_name, role, password_hash, active, created_at,
                       password_changed_at) values (?, ?, ?, ?, 1, ?, ?)""",
                    (username, display_name, role, password_hash, now, now))
                return int(cur.lastrowid or 0)
        except sqlite3.IntegrityError:
            return None

    def staff_by_username(self, username: str) -> Row | None:
        return self._row("select * from staff where username = ?", (username,))

    def staff_by_id(self, staff_id: int) -> Row | None:
        return self._row("select * from staff where id = ?", (staff_id,))

    def staff_list(self) -> list[Row]:
        return self._rows(
            """select s.id, s.username, s.display_name, s.role, s.active, s.created_at, s.last_login_at,
                      s.password_changed_at,
                      (select count(*) from staff_sessions x where x.staff_id = s.id) as sessions
               from staff s order by s.active desc, s.username""")

    def staff_count(self) -> int:
        return int(self._scalar("select count(*) from staff") or 0)

    def active_admins(self) -> int:
        return int(self._scalar("select count(*) from staff where active = 1 and role = 'admin'") or 0)

    def set_staff_password(self, staff_id: int, password_hash: str) -> bool:
        """New password; every session of the account ends."""
        with self.transaction():
            cur = self._execute("update staff set password_hash = ?, password_changed_at = ? where id = ?",
                                (password_hash, self.clock(), staff_id))
            self._execute("delete from staff_sessions where staff_id = ?", (staff_id,))
            return cur.rowcount > 0

    def rehash_staff_password(self, staff_id: int, password_hash: str) -> None:
        """The same password under stronger hash parameters: sessions stay."""
        with self.transaction():
            self._execute("update staff set password_hash = ? where id = ?", (password_hash, staff_id))

    def set_staff_active(self, staff_id: int, active: bool) -> bool:
        """Enable or disable; disabling ends every session of the account."""
        with self.transaction():
            cur = self._execute("update staff set active = ? where id = ?", (1 if active else 0, staff_id))
            if not active:
                self._execute("delete from staff_sessions where staff_id = ?", (staff_id,))
            return cur.rowcount > 0

    def set_staff_role(self, staff_id: int, role: str) -> bool:
        with self.transaction():
            return self._execute("update staff set role = ? where id = ?", (role, staff_id)).rowcount > 0

    # --- sessions ---------------------------------------------------------------------------------------

    def create_session(self, id_hash: str, staff_id: int, remote: str | None) -> None:
        now = self.clock()
        with self.transaction():
            self._execute("insert into staff_sessions values (?, ?, ?, ?, ?)", (id_hash, staff_id, now, now, remote))
            self._execute("update staff set last_login_at = ? where id = ?", (now, staff_id))

    def session_row(self, id_hash: str) -> Row | None:
        """The session with its account (only an active account's)."""
        return self._row(
            """select x.id_hash, x.created_at, x.last_seen_at, s.id as staff_id, s.username, s.display_name,
                      s.role, s.password_changed_at
               from staff_sessions x join staff s on s.id = x.staff_id
               where x.id_hash = ? and s.active = 1""", (id_hash,))

    def touch_session(self, id_hash: str) -> None:
        with self.transaction():
            self._execute("update staff_sessions set last_seen_at = ? where id_hash = ?", (self.clock(), id_hash))

    def delete_session(self, id_hash: str) -> None:
        with self.transaction():
            self._execute("delete from staff_sessions where id_hash = ?", (id_hash,))

    def end_staff_sessions(self, staff_id: int) -> int:
        with self.transaction():
            return self._execute("delete from staff_sessions where staff_id = ?", (staff_id,)).rowcount

    def prune_sessions(self, idle_seconds: float, absolute_seconds: float) -> None:
        now = self.clock()
        with self.transaction():
            self._execute("delete from staff_sessions where last_seen_at < ? or created_at < ?",
                          (now - idle_seconds, now - absolute_seconds))

    # --- login attempts -----------------------------------------------------------------------------------

    def record_login(self, username: str, remote: str, ok: bool) -> None:
        with self.transaction():
            self._execute("insert into login_attempts (username, remote, ok, at) values (?, ?, ?, ?)",
                          (username, remote, 1 if ok else 0, self.clock()))

    def prune_login_attempts(self, keep_seconds: float) -> None:
        with self.transaction():
            self._execute("delete from login_attempts where at < ?", (self.clock() - keep_seconds,))

    def login_history(self, username: str, remote: str, known_seconds: float, window_seconds: float) -> LoginHistory:
        """Failures counted within `window_seconds`; an address is known after a success in `known_seconds`."""
        now = self.clock()
        known_since, window = now - known_seconds, now - window_seconds
        pair_ok = self._scalar("select max(at) from login_attempts where username = ? and remote = ? and ok = 1",
                               (username, remote))
        address_ok = self._scalar("select max(at) from login_attempts where remote = ? and ok = 1", (remote,))
        pair = self._row(
            """select count(*) as n, max(at) as last from login_attempts
               where username = ? and remote = ? and ok = 0 and at >= ?""",
            (username, remote, max(window, pair_ok or 0)))
        account = self._row(
            """select count(*) as n, max(at) as last from login_attempts f
               where f.username = ? and f.ok = 0 and f.at >= ? and not exists (
                   select 1 from login_attempts s where s.username = f.username and s.remote = f.remote
                   and s.ok = 1 and s.at >= ?)""",
            (username, window, known_since))
        address = self._row(
            "select count(*) as n, max(at) as last from login_attempts where remote = ? and ok = 0 and at >= ?",
            (remote, max(window, address_ok or 0)))
        assert pair is not None and account is not None and address is not None
        return LoginHistory(
            known_pair=pair_ok is not None and pair_ok >= known_since,
            known_address=address_ok is not None and address_ok >= known_since,
            pair_failures=int(pair["n"]), pair_last=pair["last"],
            account_failures=int(account["n"]), account_last=account["last"],
            address_failures=int(address["n"]), address_last=address["last"],
        )

    # --- audit log --------------------------------------------------------------------------------------

    def audit(self, actor: str, action: str, target: str | None = None, detail: str | None = None) -> int:
        """One line of the audit log: who (a username, or "cli"/"system"), did what, to what."""
        with self.transaction():
            cur = self._execute(
                "insert into audit_log (at, actor, action, target, detail) values (?, ?, ?, ?, ?)",
                (self.clock(), actor or "?", action, target, (detail or None) and str(detail)[:AUDIT_DETAIL]))
            return int(cur.lastrowid or 0)

    def audit_rows(self, actor: str | None = None, action: str | None = None, since: float | None = None,
                   until: float | None = None, before: int | None = None, limit: int = 100) -> list[Row]:
        """Newest first; `before` (an id) pages back."""
        where, args = list[str](), list[Any]()
        for clause, value in (("actor = ?", actor), ("action = ?", action), ("at >= ?", since),
                              ("at < ?", until), ("id < ?", before)):
            if value is not None:
                where.append(clause)
                args.append(value)
        sql = "select * from audit_log" + (" where " + " and ".join(where) if where else "")
        return self._rows(sql + " order by id desc limit ?", [*args, limit])

    def audit_values(self, column: str) -> list[str]:
        """The distinct actors or actions, for the filters."""
        if column not in ("actor", "action"):
            raise ValueError(column)
        return [r["v"] for r in self._rows(f"select distinct {column} as v from audit_log order by v")]
