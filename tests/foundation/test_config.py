"""Config loading: typed sections, secrets from the environment, errors naming file and key."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from common import config
from common.config import ConfigError, ServiceSettings


class DemoSettings(ServiceSettings, kw_only=True, forbid_unknown_fields=True):
    symbols: list[str] = []
    max_subscriptions_per_stream: int = 128


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "kgw.toml"
    p.write_text(text)
    return p


def test_shipped_configs_load() -> None:
    root = config.REPO_ROOT / "deploy" / "config"
    paths = sorted(root.glob("*.toml"))
    assert {p.name for p in paths} >= {"sim.toml", "live.toml"}
    for path in paths:
        cfg = config.load(path)
        assert cfg.gateway.rest_url.endswith("/derivatives/api/v3")
        assert cfg.accounts, path


def test_defaults_when_sections_are_absent(tmp_path: Path) -> None:
    cfg = config.load(write(tmp_path, ""))
    assert cfg.bus.feed_pub == "tcp://127.0.0.1:9810"
    assert cfg.service("demo", DemoSettings).max_subscriptions_per_stream == 128


def test_wrong_type_names_file_section_and_key(tmp_path: Path) -> None:
    p = write(tmp_path, '[demo]\nmax_subscriptions_per_stream = "many"\n')
    with pytest.raises(ConfigError) as info:
        config.load(p).service("demo", DemoSettings)
    text = str(info.value)
    assert str(p) in text and "[demo]" in text and "max_subscriptions_per_stream" in text


def test_unknown_key_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"\[bus\].*feed_pubb"):
        config.load(write(tmp_path, '[bus]\nfeed_pubb = "tcp://x:1"\n'))


def test_missing_file_and_bad_toml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        config.load(tmp_path / "absent.toml")
    with pytest.raises(ConfigError, match="invalid TOML"):
        config.load(write(tmp_path, "[gateway\n"))


def test_credentials_come_from_the_environment_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    p = write(tmp_path, '[accounts.main]\napi_key_env = "T_KEY"\napi_secret_env = "T_SECRET"\n')
    cfg = config.load(p)
    monkeypatch.delenv("T_KEY", raising=False)
    with pytest.raises(ConfigError, match="T_KEY"):
        config.account_credentials(cfg, "main")
    monkeypatch.setenv("T_KEY", "k")
    monkeypatch.setenv("T_SECRET", "cw==")
    assert config.account_credentials(cfg, "main") == ("k", "cw==")
    with pytest.raises(ConfigError, match=r"accounts\.other"):
        config.account_credentials(cfg, "other")


def test_settings_structs_are_msgspec() -> None:
    assert issubclass(DemoSettings, msgspec.Struct)
