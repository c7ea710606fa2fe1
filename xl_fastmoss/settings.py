"""Where settings come from: arguments, then ``FASTMOSS_*`` variables, then the user's config.

The key is read from ``FASTMOSS_API_KEY``, else the OS keyring, else the config file (readable
by the user only). ``xl-fastmoss config`` writes the keyring or the file. Nothing else the
project writes ever holds the key, and no message quotes the config file's lines.
"""

from __future__ import annotations

import math
import os
import threading
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import platformdirs

from . import redact
from .errors import ConfigurationError, MissingApiKey
from .files import atomic_write

if TYPE_CHECKING:  # imported where a config file is read: most users have none
    import configparser

log = redact.logger(__name__)

APP_NAME = "xl-fastmoss"
DEFAULT_BASE_URL = "https://openapi.fastmoss.com"
DEFAULT_CONNECT_TIMEOUT = 5.0
DEFAULT_READ_TIMEOUT = 30.0
DEFAULT_MAX_RETRIES = 4
DEFAULT_RETRY_DEADLINE = 60.0
DEFAULT_RETRY_BACKOFF = 0.5
DEFAULT_CACHE_TTL = 24 * 3600
DEFAULT_MAX_CONCURRENCY = 4
#: The most bytes one page may take, on the wire and decompressed: a full page of 100 rows
#: is about 70 KB, so this leaves room for fifty times that.
DEFAULT_MAX_PAGE_BYTES = 4 * 2**20
#: Days after a period ends before its answers are final (never expire); see :mod:`.retention`.
DEFAULT_SETTLE_DAYS = 3.0
#: A refresh in Excel estimated above this many calls asks before it spends them.
DEFAULT_CONFIRM_CALLS = 50
#: How pages are sized: ``full`` asks 100 rows a page (fewest calls), ``exact`` the rows a table
#: lacks (fewest rows); see :mod:`.paging`.
PAGE_ROWS_POLICIES = ("full", "exact")
DEFAULT_PAGE_ROWS = "full"
#: Tables a client holds in memory, the least recently used dropped first (read again from the
#: disk cache, without a call, when asked again): room for a dashboard of 200 FM_ formulas.
DEFAULT_MEMORY_TABLES = 256
KEYRING_SERVICE = "xl-fastmoss"
KEYRING_USER = "api-key"

#: What each number may be: (lowest, highest, whole number only). Anything else, NaN and
#: infinities included, is refused with a message naming the setting.
_LIMITS: dict[str, tuple[float, float, bool]] = {
    "connect_timeout": (0.1, 600.0, False),
    "read_timeout": (0.1, 3600.0, False),
    "max_retries": (0, 100, True),
    "retry_deadline": (0.1, 3600.0, False),
    "retry_backoff": (0.0, 60.0, False),
    "cache_ttl": (0, 10 * 366 * 24 * 3600, False),
    "max_concurrency": (1, 64, True),
    "max_page_bytes": (1024, 2**30, True),
    "daily_calls": (0, 10**9, True),
    "daily_rows": (0, 10**12, True),
    "settle_days": (0, 3660, False),
    "confirm_calls": (0, 10**9, True),
    "memory_tables": (0, 100_000, True),
}
#: The variable (or config file key) a setting read from text is named by in messages.
_SOURCES = {
    "read_timeout": "FASTMOSS_TIMEOUT", "max_retries": "FASTMOSS_MAX_RETRIES",
    "cache_ttl": "FASTMOSS_CACHE_TTL", "max_concurrency": "FASTMOSS_MAX_CONCURRENCY",
    "daily_calls": "FASTMOSS_DAILY_CALLS", "daily_rows": "FASTMOSS_DAILY_ROWS",
    "settle_days": "FASTMOSS_SETTLE_DAYS", "confirm_calls": "FASTMOSS_CONFIRM_CALLS",
    "memory_tables": "FASTMOSS_MEMORY_TABLES",
}
#: Settings that may be left unset (no limit): their variable or key may be empty or ``none``.
_OPTIONAL = ("daily_calls", "daily_rows")
_LOOPBACK_NAMES = ("localhost", "localhost.")
_warned_in_clear: set[str] = set()
_warned_lock = threading.Lock()

# Settings the config file may hold, with the variable that overrides each.
_FILE_KEYS = {
    "base_url": "FASTMOSS_BASE_URL",
    "cache_dir": "FASTMOSS_CACHE_DIR",
    "cache_ttl": "FASTMOSS_CACHE_TTL",
    "cache_url": "FASTMOSS_CACHE_URL",
    "timeout": "FASTMOSS_TIMEOUT",
    "max_retries": "FASTMOSS_MAX_RETRIES",
    "max_concurrency": "FASTMOSS_MAX_CONCURRENCY",
    "daily_calls": "FASTMOSS_DAILY_CALLS",
    "daily_rows": "FASTMOSS_DAILY_ROWS",
    "page_rows": "FASTMOSS_PAGE_ROWS",
    "settle_days": "FASTMOSS_SETTLE_DAYS",
    "confirm_calls": "FASTMOSS_CONFIRM_CALLS",
    "memory_tables": "FASTMOSS_MEMORY_TABLES",
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
    cache_url: str | None = field(default=None, repr=False)
    max_concurrency: int = DEFAULT_MAX_CONCURRENCY
    #: The most bytes one page may take, on the wire and decompressed (see DEFAULT_MAX_PAGE_BYTES).
    max_page_bytes: int = DEFAULT_MAX_PAGE_BYTES
    #: Daily budgets (the user's local day), across every process of the user, or of the team
    #: with a team cache; None is no budget. See :mod:`.ledger`.
    daily_calls: int | None = None
    daily_rows: int | None = None
    #: ``full`` or ``exact`` (see PAGE_ROWS_POLICIES).
    page_rows: str = DEFAULT_PAGE_ROWS
    settle_days: float = DEFAULT_SETTLE_DAYS
    confirm_calls: int = DEFAULT_CONFIRM_CALLS
    #: Tables held in memory, least recently used out first (see DEFAULT_MEMORY_TABLES); 0 holds none.
    memory_tables: int = DEFAULT_MEMORY_TABLES

    def __post_init__(self) -> None:
        redact.remember_secret(self.api_key)
        self.check()

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
        if cache_url := pick("cache_url"):
            values["cache_url"] = cache_url
        for name, key in (("cache_ttl", "cache_ttl"), ("read_timeout", "timeout"),
                          ("max_retries", "max_retries"), ("max_concurrency", "max_concurrency"),
                          ("daily_calls", "daily_calls"), ("daily_rows", "daily_rows"),
                          ("settle_days", "settle_days"), ("confirm_calls", "confirm_calls"),
                          ("memory_tables", "memory_tables")):
            text = pick(key)
            if text and not (name in _OPTIONAL and text.strip().lower() in ("none", "off")):
                values[name] = _number(name, text)
        if page_rows := pick("page_rows"):
            values["page_rows"] = page_rows.strip().lower()
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    def check(self) -> None:
        """Refuse settings that cannot work; warn once when the key would travel in clear."""
        if not isinstance(self.base_url, str) or not self.base_url.startswith(("https://", "http://")):
            raise ConfigurationError(f"FASTMOSS_BASE_URL {redact.redact_url(str(self.base_url))!r} "
                                     "is not an http(s) URL")
        for name in _LIMITS:  # what came from the environment or the file was checked as it was read
            if not (name in _OPTIONAL and getattr(self, name) is None):
                _check_number(name, getattr(self, name), source=name)
        if self.page_rows not in PAGE_ROWS_POLICIES:
            raise ConfigurationError(f"FASTMOSS_PAGE_ROWS must be full or exact, got {str(self.page_rows)[:40]!r}")
        if key_travels_in_clear(self.base_url):
            with _warned_lock:
                first = self.base_url not in _warned_in_clear
                _warned_in_clear.add(self.base_url)
            if first:
                log.warning("FASTMOSS_BASE_URL %s is plain http: the API key travels unencrypted; "
                            "use https:// for anything but this machine", redact.redact_url(self.base_url))

    def require_key(self) -> str:
        """The key, or the error saying why there is none usable (it never shows the key)."""
        if not self.api_key:
            raise MissingApiKey()
        problem = key_problem(self.api_key)
        if problem:
            raise ConfigurationError(f"the API key holds {problem}, so it cannot be sent; "
                                     "store it again with `xl-fastmoss config --set-key` or fix FASTMOSS_API_KEY")
        return self.api_key

    def with_(self, **changes) -> Settings:
        return replace(self, **changes)


def key_travels_in_clear(base_url: str) -> bool:
    """Whether ``base_url`` is plain http to another machine than this one."""
    if not base_url.lower().startswith("http://"):
        return False
    import urllib.parse

    try:
        host = (urllib.parse.urlsplit(base_url).hostname or "").lower()
    except ValueError:
        return True
    if host in _LOOPBACK_NAMES:
        return False
    import ipaddress

    try:
        return not ipaddress.ip_address(host).is_loopback
    except ValueError:
        return True


def key_problem(key: str) -> str | None:
    """What makes ``key`` unusable in an HTTP header, named without showing the key; None if fine."""
    for position, character in enumerate(key, start=1):
        if character in "\r\n":
            kind = "a line break"
        elif character == "\t":
            kind = "a tab"
        elif character == " ":
            kind = "a space"
        elif ord(character) < 32 or ord(character) == 127:
            kind = "a control character"
        elif ord(character) > 126:
            kind = "a character that is not plain ASCII"
        else:
            continue
        return f"{kind} (character {position} of {len(key)})"
    return None


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
    """Save the key in the OS keyring, else in the user-only config file. Returns where.

    A key with a control character, a space or non-ASCII text is refused, without showing it.
    """
    redact.remember_secret(key)
    if not key:
        raise ConfigurationError("the API key is empty; nothing was stored")
    problem = key_problem(key)
    if problem:
        raise ConfigurationError(f"the API key holds {problem}; nothing was stored. "
                                 "Paste the key alone, as the FastMoss console shows it")
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
    parser = _parse_config_file(path)
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


def read_config() -> dict[str, str]:
    """The settings the config file holds, as text (the key among them, if stored there)."""
    return _read_config_file()


def _read_config_file() -> dict[str, str]:
    path = config_file()
    if not path.is_file():  # as configparser reads a missing file: nothing
        return {}
    parser = _parse_config_file(path)
    values = dict(parser["fastmoss"]) if parser.has_section("fastmoss") else {}
    redact.remember_secret(values.get("api_key"))
    return values


def _parse_config_file(path: Path) -> configparser.ConfigParser:
    """The config file parsed; a file that does not parse is refused naming the line, never
    quoting it (configparser's own messages repeat the line, which may be the key's)."""
    import configparser

    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read(path, encoding="utf-8")
    except configparser.MissingSectionHeaderError as error:
        raise ConfigurationError(
            f"config file {path} has no [fastmoss] header before line {error.lineno}: put a line "
            "[fastmoss] at its top (or remove the file and run `xl-fastmoss config` again)") from None
    except configparser.ParsingError as error:
        lines = ", ".join(str(number) for number, _ in error.errors[:5])
        raise ConfigurationError(
            f"config file {path} is not readable: line {lines} is not `name = value`") from None
    except (configparser.DuplicateSectionError, configparser.DuplicateOptionError) as error:
        raise ConfigurationError(
            f"config file {path} is not readable: line {error.lineno} repeats a "
            f"{'setting' if isinstance(error, configparser.DuplicateOptionError) else 'section'}") from None
    except configparser.Error as error:
        raise ConfigurationError(f"config file {path} is not readable ({type(error).__name__})") from None
    except UnicodeDecodeError as error:
        raise ConfigurationError(
            f"config file {path} is not UTF-8 text (byte {error.start + 1} is not)") from None
    return parser


def _number(name: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ConfigurationError(f"{_SOURCES[name]} must be a number, got {text[:40]!r}") from None
    _check_number(name, value, shown=text[:40], source=_SOURCES[name])
    return int(value) if _LIMITS[name][2] and value.is_integer() else value


def _check_number(name: str, value: object, *, source: str, shown: str | None = None) -> None:
    lowest, highest, whole = _LIMITS[name]
    shown = shown if shown is not None else repr(value)
    kind = "a whole number" if whole else "a number"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigurationError(f"{source} must be {kind}, got {shown}")
    if not math.isfinite(value) or not lowest <= value <= highest or (whole and not float(value).is_integer()):
        raise ConfigurationError(f"{source} must be {kind} from {lowest:g} to {highest:g}, got {shown}")
