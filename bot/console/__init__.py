"""The staff console at /console: review logged questions, answer members, grow the knowledge base, report.

Modules: `access` (Host check, server-side sessions, CSRF), `auth` (roles, passwords, login throttle),
`accounts` (login, staff accounts and audit log pages, `current_staff`), `queries` (read-only SQL and
ticket updates on the store's connection), `knowledge` (validated writes to knowledge/ YAML), `views`
(aiohttp routes, `guarded`, templates).
"""
