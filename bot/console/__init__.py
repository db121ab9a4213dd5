"""The staff console at /console: review logged questions, answer members, grow the knowledge base, report.

Modules: `access` (who may open it, sessions, CSRF), `queries` (read-only SQL and ticket updates on the
store's connection), `knowledge` (validated writes to knowledge/ YAML), `views` (aiohttp routes, templates).
"""
