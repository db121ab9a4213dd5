"""Staff accounts: first start, the CLI, login and sessions, throttling that never locks staff out, Host check."""

from __future__ import annotations

import asyncio
import hashlib
import re
import socket
from http.cookies import SimpleCookie
from pathlib import Path

import aiohttp
import pytest
import test_console
from click.testing import CliRunner
from clock import Clock
from test_console import CSRF, PASSWORD, add_staff, login

from bot import proxies, server
from bot.app import App
from bot.cli import main
from bot.config import ConfigError, load_config
from bot.console import access, auth
from bot.console.access import COOKIE
from bot.db import Store
from bot.engine import Engine

make_client, cheap_hashing = test_console.make_client, test_console.cheap_hashing

REAL_HASHER = auth.HASHER  # before the tests swap in a cheap one
PROXY = {"X-Forwarded-For": "203.0.113.9"}  # an address never seen before, through the (trusted) local proxy


def db_text(path: str) -> str:
    """The database file with its write-ahead log, as bytes read loosely: no secret may be in there."""
    return "".join(p.read_bytes().decode("latin-1") for p in Path(path).parent.glob(Path(path).name + "*"))


def cookie_of(client) -> str:
    return client.session.cookie_jar.filter_cookies(client.make_url("/console"))[COOKIE].value


def use_cookie(client, value: str) -> None:
    cookie: SimpleCookie = SimpleCookie()
    cookie[COOKIE] = value
    cookie[COOKIE]["path"] = "/console"
    client.session.cookie_jar.clear()
    client.session.cookie_jar.update_cookies(cookie, client.make_url("/console"))


async def logged_in(client) -> bool:
    resp = await client.get("/console", allow_redirects=False)
    assert resp.status in (200, 303)
    return resp.status == 200


# --- first start ----------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _start_and_stop(app, capsys, check=None) -> str:
    """`htx-bot run` on a free port until it answers, then stopped; returns what it printed."""
    app.config.web.port = _free_port()
    stop = asyncio.Event()
    running = asyncio.create_task(server.run(app, stop))
    base = f"http://127.0.0.1:{app.config.web.port}"
    try:
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as s:
            for _ in range(250):
                try:
                    async with s.get(base + "/healthz") as r:
                        if r.status == 200:
                            break
                except aiohttp.ClientError:
                    await asyncio.sleep(0.02)
            out = capsys.readouterr().out
            if check:
                await check(s, base, out)
    finally:
        stop.set()
        await asyncio.wait_for(running, 10)
    return out


async def test_first_start_prints_a_working_admin_password_once(config, kb, searcher, capsys):
    async def log_in_with_printed(s, base, out):
        match = re.search(r"\badmin\b.*?mật khẩu: (\S+)", out)
        assert match, out
        assert "htx-bot staff passwd admin" in out
        page = await (await s.get(base + "/console/login")).text()
        csrf = CSRF.search(page).group(1)
        async with s.post(base + "/console/login", allow_redirects=False,
                          data={"csrf": csrf, "username": "admin", "password": match.group(1)}) as r:
            assert r.status == 303
        async with s.get(base + "/console/accounts", allow_redirects=False) as r:
            assert r.status == 200  # the first account is an admin
        printed.append(match.group(1))

    def fresh_app() -> App:  # each run closes its store when it stops, as `htx-bot run` does
        store = Store(config.storage.path)
        return App(config, kb, store, Engine(kb, store, config, searcher=searcher))

    printed: list[str] = []
    await _start_and_stop(fresh_app(), capsys, log_in_with_printed)
    [password] = printed
    # A second start creates nothing and prints no password.
    out = await _start_and_stop(fresh_app(), capsys)
    assert "mật khẩu:" not in out and password not in out
    store = Store(config.storage.path)
    try:
        [row] = store.staff_list()
        assert (row["username"], row["role"]) == ("admin", "admin")
        stored = store.staff_by_username("admin")["password_hash"]
        assert stored.startswith("$argon2id$") and password not in stored
        assert password not in db_text(config.storage.path)
    finally:
        store.close()


def test_no_default_password_and_the_real_hasher_is_argon2id():
    assert "admin" not in auth.random_password() and auth.random_password() != auth.random_password()
    assert len(auth.random_password()) >= 20
    # OWASP's minimum for argon2id: 19 MiB of memory and 2 passes.
    assert REAL_HASHER.type.name == "ID" and REAL_HASHER.memory_cost >= 19 * 1024 and REAL_HASHER.time_cost >= 2
    h = REAL_HASHER.hash("mật-khẩu-thử-123")
    assert REAL_HASHER.verify(h, "mật-khẩu-thử-123")


# --- the CLI ---------------------------------------------------------------------------------------------


@pytest.fixture
def cli(config, tmp_path):
    path = tmp_path / "config.toml"
    path.write_text(f'[storage]\npath = "{config.storage.path}"\n', encoding="utf-8")

    def run(*args: str, stdin: str | None = None):
        return CliRunner().invoke(main, ["staff", *args, "--config", str(path)], input=stdin)

    return run


async def test_cli_accounts_sessions_end_on_passwd_and_disable(app, cli, make_client, config):
    result = cli("add", "Minh", "--role", "staff", "--name", "Anh Minh", "--password-stdin",
                 stdin="mat-khau-cua-minh\n")
    assert result.exit_code == 0, result.output
    row = app.store.staff_by_username("minh")
    assert (row["role"], row["display_name"], row["active"]) == ("staff", "Anh Minh", 1)
    assert "mat-khau-cua-minh" not in db_text(config.storage.path)
    assert "mat-khau-cua-minh" not in result.output

    assert cli("add", "minh", "--role", "admin", "--password-stdin", stdin="khac-hoan-toan-1\n").exit_code == 2
    assert cli("add", "hoa", "--role", "staff", "--password-stdin", stdin="ngan\n").exit_code == 2  # too short
    assert cli("add", "Hoa Nguyen", "--role", "staff", "--password-stdin", stdin="du-dai-roi-123\n").exit_code == 2
    assert cli("add", "hoa", "--role", "chief", "--password-stdin", stdin="du-dai-roi-123\n").exit_code == 2
    # The prompt asks twice; two different answers create nothing.
    mismatch = cli("add", "hoa", "--role", "viewer", stdin="du-dai-roi-123\nkhac-di-nhe-456\ndu-dai-roi-123\n"
                                                            "du-dai-roi-123\n")
    assert mismatch.exit_code == 0, mismatch.output
    assert app.store.staff_by_username("hoa")["role"] == "viewer"

    listing = cli("list")
    assert "minh" in listing.output and "Anh Minh" in listing.output and "hoa" in listing.output
    assert "$argon2" not in listing.output

    client = await make_client(username="minh", log_in=False)
    assert (await login(client, "minh", "mat-khau-cua-minh")).status == 303
    assert await logged_in(client)
    assert cli("passwd", "minh", "--password-stdin", stdin="mat-khau-moi-cua-minh\n").exit_code == 0
    assert not await logged_in(client)  # the session ended server-side
    assert (await login(client, "minh", "mat-khau-cua-minh")).status == 401
    assert (await login(client, "minh", "mat-khau-moi-cua-minh")).status == 303
    assert await logged_in(client)

    assert cli("disable", "minh").exit_code == 0
    assert not await logged_in(client)
    assert (await login(client, "minh", "mat-khau-moi-cua-minh")).status == 401
    assert "disabled" in cli("list").output
    assert cli("disable", "nobody").exit_code == 2
    assert cli("enable", "minh").exit_code == 0
    assert (await login(client, "minh", "mat-khau-moi-cua-minh")).status == 303
    actions = [(r["actor"], r["action"]) for r in app.store.audit_rows(actor="cli")]
    assert ("cli", "account.disable") in actions and ("cli", "account.password_reset") in actions


# --- login and sessions ---------------------------------------------------------------------------------


async def test_login_form_session_cookie_and_logout(app, make_client):
    client = await make_client(log_in=False)
    add_staff(app)
    for path in ("/console", "/console/tickets/1", "/console/messages", "/console/export/tickets.csv"):
        resp = await client.get(path, allow_redirects=False)
        assert resp.status == 303 and resp.headers["Location"].startswith("/console/login?next="), path
    html = await (await client.get("/console")).text()
    assert 'name="username"' in html and 'type="password"' in html

    assert (await login(client, password="sai-mat-khau-roi")).status == 401
    assert (await login(client, username="khong-co-ai")).status == 401
    assert not await logged_in(client)
    anonymous = cookie_of(client)

    resp = await login(client, next_path="/console/messages")
    assert resp.status == 303 and resp.headers["Location"] == "/console/messages"
    cookie = resp.cookies[COOKIE]
    assert cookie["httponly"] and cookie["samesite"] == "Strict" and cookie["path"] == "/console"
    assert not cookie["secure"]  # plain http here
    sid = cookie.value
    assert sid != anonymous  # a fresh id at login: a planted one is worth nothing
    [row] = [dict(r) for r in app.store.conn.execute("select * from staff_sessions")]
    assert row["id_hash"] == hashlib.sha256(sid.encode()).hexdigest() and sid not in str(row)
    assert await logged_in(client)

    token = CSRF.search(await (await client.get("/console")).text()).group(1)
    resp = await client.post("/console/logout", data={"csrf": token}, allow_redirects=False)
    assert resp.status == 303 and "logged_out" in resp.headers["Location"]
    assert app.store.conn.execute("select count(*) from staff_sessions").fetchone()[0] == 0
    use_cookie(client, sid)  # the old cookie, replayed after logout
    assert not await logged_in(client)


async def test_login_needs_its_csrf_token_and_next_stays_in_the_console(app, make_client):
    client = await make_client(log_in=False)
    add_staff(app)
    await client.get("/console/login")
    resp = await client.post("/console/login", data={"username": "lan", "password": PASSWORD})
    assert resp.status == 403 and not await logged_in(client)
    for target in ("//evil.example/x", "https://evil.example/", "/console\\@evil"):
        resp = await login(client, next_path=target)
        assert resp.headers["Location"] == "/console", target


async def test_secure_cookie_behind_a_trusted_https_proxy_only(app, make_client):
    client = await make_client(log_in=False)
    add_staff(app)
    resp = await login(client, headers={"X-Forwarded-Proto": "https"})
    assert resp.cookies[COOKIE]["secure"]  # 127.0.0.1 is a trusted proxy by default
    app.config.web.trusted_proxies = []
    other = await make_client(log_in=False)
    resp = await login(other, headers={"X-Forwarded-Proto": "https"})
    assert resp.status == 303 and not resp.cookies[COOKIE]["secure"]


async def test_forged_and_expired_sessions(app, make_client):
    clock = Clock()
    app.store.clock = clock
    app.config.web.session_idle_minutes, app.config.web.session_hours = 30, 2
    client = await make_client()
    sid = cookie_of(client)
    for value in ("garbage", sid[:-2] + "xx", "é" * 10, "x" * 500):
        use_cookie(client, value)
        assert not await logged_in(client), value
    use_cookie(client, sid)
    assert await logged_in(client)

    # Idle: 29 minutes between requests keeps it alive; 31 ends it.
    for _ in range(4):
        clock.advance(29 * 60)
        assert await logged_in(client)
    clock.advance(31 * 60)
    assert not await logged_in(client)

    # Absolute: even with requests every few minutes, it ends after session_hours.
    assert (await login(client)).status == 303
    for _ in range(11):
        clock.advance(10 * 60)
        assert await logged_in(client)
    clock.advance(11 * 60)
    assert not await logged_in(client)


# --- throttling ------------------------------------------------------------------------------------------


@pytest.fixture
def quick_tarpit(monkeypatch):
    monkeypatch.setattr(auth, "TARPIT", 0.001)


async def test_fifty_wrong_tries_from_the_proxy_do_not_lock_out_the_real_user(app, make_client, quick_tarpit):
    """Behind a proxy that is not configured as trusted, every request comes from one address."""
    app.config.web.trusted_proxies = []
    real = await make_client()  # has logged in from the proxy's address before
    add_staff(app, "minh", "staff", "Anh Minh")
    assert (await login(await make_client(log_in=False), "minh")).status == 303
    attacker = await make_client(log_in=False)
    statuses = {(await login(attacker, "lan", f"doan-mo-{i}", headers=PROXY)).status for i in range(50)}
    assert statuses == {401}  # wrong, and slowed by a pause, but the pair is never refused
    assert (await login(real)).status == 303
    assert await logged_in(real)
    assert (await login(await make_client(log_in=False), "minh")).status == 303
    # A colleague's first login ever, from the same address, is not refused either.
    add_staff(app, "hoa", "viewer", "Chị Hoa")
    assert (await login(await make_client(log_in=False), "hoa")).status == 303


async def test_a_new_address_is_slowed_and_the_known_one_is_not(app, make_client):
    clock = Clock()
    app.store.clock = clock
    real = await make_client()  # logged in from 127.0.0.1
    attacker = await make_client(log_in=False)
    results = [(await login(attacker, "lan", f"doan-{i}", headers=PROXY)).status for i in range(50)]
    assert results[: auth.PAIR_FREE] == [401] * auth.PAIR_FREE
    assert set(results[auth.PAIR_FREE:]) == {429}  # not even checked
    resp = await login(attacker, "lan", PASSWORD, headers=PROXY)  # the right password, from that address
    assert resp.status == 429 and int(resp.headers["Retry-After"]) >= 1
    assert "Hãy chờ" in await resp.text()
    assert (await login(real)).status == 303  # the real user's own address: never refused
    failures = app.store.conn.execute("select count(*) from login_attempts where ok = 0").fetchone()[0]
    assert failures == auth.PAIR_FREE  # refused tries are not checked, so not counted
    clock.advance(auth.MAX_DELAY + 1)
    assert (await login(attacker, "lan", PASSWORD, headers=PROXY)).status == 303


async def test_guesses_spread_over_many_addresses_slow_only_new_addresses(app, make_client):
    real = await make_client()
    attacker = await make_client(log_in=False)
    for i in range(auth.ACCOUNT_FREE):
        hop = {"X-Forwarded-For": f"198.51.100.{i + 1}"}
        assert (await login(attacker, "lan", "sai-nua-roi", headers=hop)).status == 401
    fresh = {"X-Forwarded-For": "198.51.100.200"}
    assert (await login(attacker, "lan", PASSWORD, headers=fresh)).status == 429
    assert (await login(real)).status == 303


async def test_one_address_trying_many_accounts_is_slowed_unless_staff_log_in_from_it(app, make_client):
    attacker = await make_client(log_in=False)
    for i in range(auth.ADDRESS_FREE + 1):
        await login(attacker, f"ai-do-{i}", "doan-bua", headers=PROXY)
    add_staff(app, "minh", "staff")
    assert (await login(attacker, "minh", PASSWORD, headers=PROXY)).status == 429
    # The office proxy where staff log in every day: failures on other names never slow a colleague.
    office = await make_client()
    for i in range(auth.ADDRESS_FREE + 5):
        await login(office, f"ai-do-{i}", "doan-bua")
    assert (await login(await make_client(log_in=False), "minh")).status == 303


def test_wait_seconds_grows_and_is_capped():
    from bot.db.staff import LoginHistory

    def history(n: int, known: bool = False) -> LoginHistory:
        return LoginHistory(known, known, n, 1000.0, 0, None, 0, None)

    waits = [auth.wait_seconds(history(n), 1000.0) for n in range(auth.PAIR_FREE, auth.PAIR_FREE + 12)]
    assert waits[0] == auth.FIRST_DELAY and waits == sorted(waits) and waits[-1] == auth.MAX_DELAY
    assert auth.wait_seconds(history(auth.PAIR_FREE - 1), 1000.0) == 0
    assert auth.wait_seconds(history(100, known=True), 1000.0) == 0
    assert 0 < auth.tarpit_seconds(history(100, known=True)) <= auth.TARPIT


# --- Host check ------------------------------------------------------------------------------------------


async def test_dns_rebinding_host_is_refused(app, make_client):
    client = await make_client()
    assert await logged_in(client)
    # attacker.example resolves to 127.0.0.1: the browser sends the attacker's name as Host.
    for method, path in (("GET", "/console"), ("GET", "/console/login"), ("GET", "/console/export/messages.csv"),
                         ("POST", "/console/tickets/1/close"), ("POST", "/console/login")):
        resp = await client.request(method, path, headers={"Host": "attacker.example:8080"}, allow_redirects=False)
        assert resp.status == 421, path
        assert resp.headers["Content-Type"].startswith("text/plain")
        assert "allowed_hosts" in await resp.text()
    for host in ("127.0.0.1:8080", "localhost:8080", "LOCALHOST.", "[::1]:8080", "127.0.0.1"):
        assert (await client.get("/console", headers={"Host": host}, allow_redirects=False)).status == 200, host
    assert (await client.get("/console", headers={"Host": ""}, allow_redirects=False)).status == 421
    assert (await client.get("/healthz", headers={"Host": "attacker.example"})).status == 200  # not the console


async def test_configured_names_and_a_wildcard_bind(app, make_client):
    app.config.web.allowed_hosts = ["htx.example.vn"]
    client = await make_client(host="0.0.0.0")
    assert (await client.get("/console", headers={"Host": "htx.example.vn"}, allow_redirects=False)).status == 200
    assert (await client.get("/console", headers={"Host": "0.0.0.0:8080"}, allow_redirects=False)).status == 421
    assert (await client.get("/console", headers={"Host": "evil.example.vn"}, allow_redirects=False)).status == 421


def test_host_names_and_client_addresses():
    assert access.host_name("Example.VN:443") == "example.vn" and access.host_name("[::1]:80") == "::1"
    assert access.host_name("::1") == "::1" and access.host_name("[broken") == ""
    names = access.allowed_names("192.168.1.5", ["htx.example.vn"])
    assert {"192.168.1.5", "htx.example.vn", "localhost", "127.0.0.1", "::1"} <= names
    assert "0.0.0.0" not in access.allowed_names("0.0.0.0", [])
    policy = access.Access(None, b"k", names, proxies.networks(["10.0.0.0/8", "127.0.0.1"]))  # type: ignore[arg-type]
    assert policy.client_address("10.1.2.3", {"X-Forwarded-For": "1.2.3.4, 10.9.9.9"}) == "1.2.3.4"
    assert policy.client_address("10.1.2.3", {"X-Forwarded-For": "evil, 5.6.7.8"}) == "5.6.7.8"
    assert policy.client_address("8.8.8.8", {"X-Forwarded-For": "1.2.3.4"}) == "8.8.8.8"  # not a trusted proxy
    assert policy.client_address("10.1.2.3", {}) == "10.1.2.3"
    assert policy.is_https(False, "10.1.2.3", {"X-Forwarded-Proto": "https"})
    assert not policy.is_https(False, "8.8.8.8", {"X-Forwarded-Proto": "https"})


def test_config_keys(tmp_path):
    def load(text: str):
        path = tmp_path / "c.toml"
        path.write_text(text, encoding="utf-8")
        return load_config(path, env={})

    cfg = load('[web]\nallowed_hosts = ["htx.example.vn"]\ntrusted_proxies = ["10.0.0.0/8"]\n'
               'session_idle_minutes = 30\nsession_hours = 8\n')
    assert cfg.web.allowed_hosts == ["htx.example.vn"] and cfg.web.session_hours == 8
    assert load("").web.trusted_proxies == ["127.0.0.1", "::1"]
    assert load('[web]\nconsole_token = "old"\n').web.console_token == "old"  # old files still load
    for bad in ('allowed_hosts = "htx.example.vn"', "allowed_hosts = [1]", 'trusted_proxies = ["proxy"]',
                "session_idle_minutes = 0"):
        with pytest.raises(ConfigError, match="web."):
            load("[web]\n" + bad + "\n")


def test_store_revocation_is_immediate(tmp_path):
    store = Store(tmp_path / "s.sqlite3")
    try:
        staff_id = store.create_staff("lan", "Lan", "staff", "$argon2id$x")
        assert store.create_staff("lan", "Lan 2", "staff", "$argon2id$y") is None
        store.create_session("h1", staff_id, "1.2.3.4")
        assert store.session_row("h1")["username"] == "lan"
        store.set_staff_active(staff_id, False)
        assert store.session_row("h1") is None
        store.set_staff_active(staff_id, True)
        store.create_session("h2", staff_id, None)
        store.set_staff_password(staff_id, "$argon2id$z")
        assert store.session_row("h2") is None
    finally:
        store.close()
