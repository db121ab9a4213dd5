"""The schema: versioned migrations, applied once each, in order, each in its own transaction.

The history is the one shipped databases already carry in `_migrations`; append, never edit.
"""

from __future__ import annotations

from collections.abc import Callable

import sqlite_utils

# Each migration runs once, in order, inside a transaction; append, never edit a shipped one.
MIGRATIONS: list[str] = [
    """
    create table users (
        id integer primary key,
        channel text not null,
        user_key text not null,
        name text,
        province text,
        created_at real not null,
        last_seen_at real not null,
        unique (channel, user_key)
    );
    create table messages (
        id integer primary key,
        channel text not null,
        user_key text not null,
        platform_id text,
        text text,
        payload text,
        attachment text,
        received_at real not null,
        status text not null default 'received',
        handled_at real,
        kind text,
        intent text,
        entry_id text,
        score real,
        citations text,
        error text
    );
    create unique index messages_platform on messages (channel, platform_id) where platform_id is not null;
    create index messages_status on messages (status);
    create index messages_user on messages (channel, user_key);
    create table replies (
        id integer primary key,
        message_id integer references messages(id),
        channel text not null,
        user_key text not null,
        origin text not null default 'bot',
        text text not null,
        buttons text not null default '[]',
        created_at real not null,
        status text not null default 'pending',
        attempts integer not null default 0,
        next_attempt_at real not null default 0,
        sent_at real,
        platform_msg_id text,
        last_error text
    );
    create index replies_outbox on replies (channel, status, next_attempt_at);
    create table feedback (
        id integer primary key,
        message_id integer not null references messages(id),
        channel text not null,
        user_key text not null,
        value integer not null,
        created_at real not null,
        unique (message_id, channel, user_key)
    );
    create table dialogs (
        channel text not null,
        user_key text not null,
        flow text,
        state text not null,
        updated_at real not null,
        primary key (channel, user_key)
    );
    create table tickets (
        id integer primary key,
        message_id integer references messages(id),
        channel text not null,
        user_key text not null,
        reason text not null,
        text text not null,
        status text not null default 'open',
        created_at real not null,
        answered_at real,
        answer text,
        staff text
    );
    create index tickets_status on tickets (status);
    create table kv (
        key text primary key,
        value text not null,
        updated_at real not null
    );
    """,
    # Self-check results (bot/db/selfchecks.py): the answers and the verdict; contact only with consent.
    """
    create table selfcheck_results (
        id integer primary key,
        check_name text not null,
        channel text not null,
        user_key text not null,
        message_id integer,
        answers text not null,
        result text not null,
        consent integer not null default 0,
        contact_name text,
        contact_phone text,
        created_at real not null,
        sent_to_staff integer not null default 0,
        sent_at real,
        check (consent = 1 or (contact_name is null and contact_phone is null))
    );
    create index selfcheck_results_user on selfcheck_results (channel, user_key);
    create index selfcheck_results_sent on selfcheck_results (sent_to_staff, created_at);
    """,
    # Staff console (bot/console/): reports and exports select by date range.
    """
    create index messages_received on messages (received_at);
    create index tickets_created on tickets (created_at);
    create index feedback_created on feedback (created_at);
    """,
    # Staff accounts (bot/db/staff.py): accounts with roles, server-side sessions, login attempts for
    # throttling, and the audit log of what staff did.
    """
    create table staff (
        id integer primary key,
        username text not null unique,
        display_name text not null,
        role text not null check (role in ('viewer', 'staff', 'editor', 'admin')),
        password_hash text not null,
        active integer not null default 1,
        created_at real not null,
        password_changed_at real not null,
        last_login_at real
    );
    create table staff_sessions (
        id_hash text primary key,
        staff_id integer not null references staff(id) on delete cascade,
        created_at real not null,
        last_seen_at real not null,
        remote text
    );
    create index staff_sessions_staff on staff_sessions (staff_id);
    create table login_attempts (
        id integer primary key,
        username text not null,
        remote text not null,
        ok integer not null,
        at real not null
    );
    create index login_attempts_user on login_attempts (username, remote, at);
    create index login_attempts_remote on login_attempts (remote, at);
    create index login_attempts_at on login_attempts (at);
    create table audit_log (
        id integer primary key,
        at real not null,
        actor text not null,
        action text not null,
        target text,
        detail text
    );
    create index audit_log_at on audit_log (at);
    create index audit_log_actor on audit_log (actor, at);
    create index audit_log_action on audit_log (action, at);
    """,
    # Shared inbox (bot/db/inbox.py): statuses beyond open/answered/closed, assignment, time to first
    # answer, the member's "wrote again" mark, spam, a contact left with consent, internal notes, saved replies.
    """
    alter table tickets add column assignee text;
    alter table tickets add column first_answered_at real;
    alter table tickets add column member_replied_at real;
    alter table tickets add column spam integer not null default 0;
    alter table tickets add column contact_phone text;
    alter table tickets add column contact_via text;
    alter table tickets add column contact_consent_at real;
    update tickets set first_answered_at = answered_at where status = 'answered' and answered_at is not null;
    create index tickets_assignee on tickets (assignee, status);
    create index tickets_user on tickets (channel, user_key);
    create table ticket_notes (
        id integer primary key,
        ticket_id integer not null references tickets(id),
        author text not null,
        text text not null,
        created_at real not null
    );
    create index ticket_notes_ticket on ticket_notes (ticket_id);
    create table saved_replies (
        id integer primary key,
        title text not null,
        text text not null,
        author text,
        updated_at real not null
    );
    """,
    # Knowledge review (bot/db/review.py): drafts staff write from the console, and each published change
    # with the overlay file as it was before, so it can be rolled back.
    """
    create table kb_drafts (
        id integer primary key,
        kind text not null,
        entry_id text,
        data text not null,
        status text not null default 'draft',
        message_id integer,
        created_by text,
        created_at real not null,
        updated_at real not null,
        proposed_by text,
        proposed_at real,
        decided_by text,
        decided_at real,
        note text,
        check (kind in ('phrasing', 'entry')),
        check (status in ('draft', 'proposed', 'published', 'rejected', 'rolled_back'))
    );
    create index kb_drafts_status on kb_drafts (status, id);
    create table kb_changes (
        id integer primary key,
        draft_id integer not null references kb_drafts(id),
        path text not null,
        before text,
        after text not null,
        published_by text not null,
        published_at real not null,
        rolled_back_by text,
        rolled_back_at real
    );
    create index kb_changes_draft on kb_changes (draft_id);
    create index selfcheck_results_created on selfcheck_results (created_at);
    """,
]


def migrate(db: sqlite_utils.Database, clock: Callable[[], float]) -> None:
    """Apply the migrations this database has not seen yet (an existing file keeps its data)."""
    conn = db.conn
    conn.execute("create table if not exists _migrations (version integer primary key, applied_at real)")
    done = {row[0] for row in conn.execute("select version from _migrations")}
    for version, sql in enumerate(MIGRATIONS, start=1):
        if version in done:
            continue
        conn.execute("begin immediate")
        try:
            for statement in _statements(sql):
                conn.execute(statement)
            conn.execute("insert into _migrations values (?, ?)", (version, clock()))
            conn.execute("commit")
        except Exception:
            conn.execute("rollback")
            raise


def _statements(sql: str) -> list[str]:
    return [s.strip() for s in sql.split(";") if s.strip()]
