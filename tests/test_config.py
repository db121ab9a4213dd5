import pytest

from bot.config import ConfigError, load_config


def write(tmp_path, text):
    p = tmp_path / "c.toml"
    p.write_text(text, encoding="utf-8")
    return p


def test_embedded_default_needs_no_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = load_config(env={})
    assert cfg.web.host == "127.0.0.1" and cfg.web.enabled
    assert not cfg.telegram.enabled and not cfg.zalo.enabled
    assert cfg.source == "(embedded default)"


def test_example_config_is_valid():
    cfg = load_config("config.example.toml", env={})
    assert cfg.search.answer_threshold > cfg.search.clarify_threshold


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("[web]\nport = 'eighty'\n", "web.port"),
        ("[web]\nport = 70000\n", "web.port"),
        ("[search]\nanswer_threshold = 0.3\nclarify_threshold = 0.5\n", "search.clarify_threshold"),
        ("[telegram]\nmode = 'push'\n", "telegram.mode"),
        ("[telegram]\ntoken = 'x'\nmode = 'webhook'\n", "telegram.webhook_url"),
        ("[nonsense]\na = 1\n", "[nonsense]"),
        ("[web]\nprot = 1\n", "web.prot"),
        ("province = 5\n", "province"),
        ("[web\n", "not valid TOML"),
    ],
)
def test_bad_config_names_the_key(tmp_path, text, key):
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, text), env={})
    assert key in str(err.value)


def test_missing_file_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.toml", env={})


def test_secrets_come_from_environment(tmp_path):
    cfg = load_config(write(tmp_path, "[telegram]\ntoken = ''\n"), env={"HTX_TELEGRAM_TOKEN": "123:abc"})
    assert cfg.telegram.token == "123:abc" and cfg.telegram.enabled


def test_integers_accepted_for_float_keys(tmp_path):
    cfg = load_config(write(tmp_path, "[search]\nconfident_threshold = 1\n"), env={})
    assert cfg.search.confident_threshold == 1.0 and isinstance(cfg.search.confident_threshold, float)
