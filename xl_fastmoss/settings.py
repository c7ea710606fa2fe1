"""Where settings come from: arguments, then ``FASTMOSS_*`` variables, then the user's config.

The key is read from ``FASTMOSS_API_KEY``, else the OS keyring, else the config file (readable
by the user only). ``xl-fastmoss config`` writes the keyring or the file. Nothing else the
project writes ever holds the key.
"""

from __future__ import annotations

import configparser
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import platformdirs

from .errors import ConfigurationError, MissingApiKey
from .files import atomic_write

APP_NAME = "xl-fastmoss"
DEFAULT_BASE_URL = "https://openapi.fastmoss.com"
DEFAULT_CONNECT_TIMEOUT = 5.0
DEFAULT_READ_TIMEOUT = 30.0
DEFAULT_MAX_RETRIES = 4
DEFAULT_RETRY_DEADLINE = 60.0
DEFAULT_RETRY_BACKOFF = 0.5
DEFAULT_CACHE_TTL = 24 * 3600
DEFAULT_MAX_CONCURRENCY = 4
KEYRING_SERVICE = "xl-fastmoss"
KEYRING_USER = "api-key"

# Settings the config file may hold, with the variable that overrides each.
_FILE_KEYS = {
    "base_url": "FASTMOSS_BASE_URL",
    "cache_dir": "FASTMOSS_CACHE_DIR",
    "cache_ttl": "FASTMOSS_CACHE_TTL",
    "cache_url": "FASTMOSS_CACHE_URL",
    "timeout": "FASTMOSS_TIMEOUT",
    "max_retries": "FASTMOSS_MAX_RETRIES",
    "max_concurrency": "FASTMOSS_MAX_CONCURRENCY",
}


def config_dir() -> Path:
    return Path(os.environ.get("FASTMOSS_CONFIG_DIR") or platformdirs.user_config_dir(APP_NAME, appauthor=False))


def config_file() -> Path:
    return config_dir() / "config.ini"


@dataclass(frozen=True)
class Settings:
    """Everything a client needs. ``api_key`` never shows in ``repr``."""

    api_key: str | None = field(default=None, repr=False)
    base_url: str = DEFAULT_BASE_URL
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT
    read_timeout: float = DEFAULT_READ_TIMEOUT
    max_retries: int = DEFAULT_MAX_RETRIES
    retry_deadline: float = DEFAULT_RETRY_DEADLINE
    #: Seconds before the first retry; each further retry waits about twice as long.
    retry_backoff: float = DEFAULT_RETRY_BACKOFF
    cache_dir: Path | None = None
    cache_ttl: float = DEFAULT_CACHE_TTL
    cache_url: str | None = None
    max_concurrency: int = DEFAULT_MAX_CONCURRENCY

    @classmethod
    def load(cls, **overrides) -> Settings:
        """Settings from the environment and the config store; ``overrides`` win."""
        stored = _read_config_file()
        def pick(name: str) -> str | None:
            return os.environ.get(_FILE_KEYS[name]) or stored.get(name)

        values: dict[str, Any] = {"api_key": find_api_key(stored)}
        if base_url := pick("base_url"):
            values["base_url"] = base_url
        cache_dir = pick("cache_dir")
        values["cache_dir"] = Path(cache_dir) if cache_dir else Path(
            platformdirs.user_cache_dir(APP_NAME, appauthor=False))
        if ttl := pick("cache_ttl"):
            values["cache_ttl"] = _number("FASTMOSS_CACHE_TTL", ttl, minimum=0)
        if cache_url := pick("cache_url"):
            values["cache_url"] = cache_url
        if timeout := pick("timeout"):
            values["read_timeout"] = _number("FASTMOSS_TIMEOUT", timeout, minimum=0.1)
        if retries := pick("max_retries"):
            values["max_retries"] = int(_number("FASTMOSS_MAX_RETRIES", retries, minimum=0))
        if concurrency := pick("max_concurrency"):
            values["max_concurrency"] = int(_number("FASTMOSS_MAX_CONCURRENCY", concurrency, minimum=1))
        values.update({k: v for k, v in overrides.items() if v is not None})
        settings = cls(**values)
        settings.check()
        return settings

    def check(self) -> None:
        if not self.base_url.startswith(("https://", "http://")):
            raise ConfigurationError(f"FASTMOSS_BASE_URL {self.base_url!r} is not an http(s) URL")

    def require_key(self) -> str:
        if not self.api_key:
            raise MissingApiKey()
        return self.api_key

    def with_(self, **changes) -> Settings:
        return replace(self, **changes)


def find_api_key(stored: dict[str, str] | None = None) -> str | None:
    if from_environment := os.environ.get("FASTMOSS_API_KEY", "").strip():
        return from_environment
    if from_keyring := _keyring_get():
        return from_keyring
    stored = _read_config_file() if stored is None else stored
    return stored.get("api_key") or None


def _keyring_get() -> str | None:
    try:
        import keyring
        return keyring.get_password(KEYRING_SERVICE, KEYRING_USER)
    except Exception:  # no usable keyring backend on this machine
        return None


def store_api_key(key: str) -> str:
    """Save the key in the OS keyring, else in the user-only config file. Returns where."""
    try:
        import keyring
        keyring.set_password(KEYRING_SERVICE, KEYRING_USER, key)
        if keyring.get_password(KEYRING_SERVICE, KEYRING_USER) == key:
            return "the OS keyring"
    except Exception:
        pass
    write_config({"api_key": key})
    return str(config_file())


def forget_api_key() -> None:
    try:
        import keyring
        keyring.delete_password(KEYRING_SERVICE, KEYRING_USER)
    except Exception:
        pass
    write_config({"api_key": None})


def write_config(values: dict[str, str | None]) -> Path:
    """Merge ``values`` (None removes a setting) into the config file, readable by the user only."""
    path = config_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(path, encoding="utf-8")
    if not parser.has_section("fastmoss"):
        parser.add_section("fastmoss")
    for name, value in values.items():
        if value is None:
            parser.remove_option("fastmoss", name)
        else:
            parser.set("fastmoss", name, str(value))
    with atomic_write(path, private=True) as temporary, temporary.open("w", encoding="utf-8") as handle:
        parser.write(handle)
    return path


def _read_config_file() -> dict[str, str]:
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read(config_file(), encoding="utf-8")
    except configparser.Error as error:
        raise ConfigurationError(f"config file {config_file()} is not readable: {error.message}") from None
    return dict(parser["fastmoss"]) if parser.has_section("fastmoss") else {}


def _number(name: str, text: str, minimum: float) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ConfigurationError(f"{name} must be a number, got {text!r}") from None
    if value < minimum:
        raise ConfigurationError(f"{name} must be at least {minimum}, got {text!r}")
    return value
