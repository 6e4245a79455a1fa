"""The one module that reads configuration (environment variables and an optional .env file).

Settings that cannot work are refused when they are read (pydantic's ValidationError, each message naming
the environment variable): a wrong value, or values that only make sense together (WhatsApp and a
Telegram webhook need the public address). `hotline serve` and the CLI print them and exit with 2. The
office hours' own grammar is checked where it is parsed (bot.runtime.handoff_policy, with handoff.hours).
"""

from __future__ import annotations

import json
import logging
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings", "ValidationError", "get_settings", "problems", "template_variables"]

PROJECT_DIR = Path(__file__).resolve().parent.parent
DEFAULT_SQLITE = PROJECT_DIR / "var" / "hotline.sqlite3"


class Settings(BaseSettings):
    # env_ignore_empty: a key left empty (as in a copy of .env.example) means "not set", not "".
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore",
                                      env_ignore_empty=True)

    database_url: str = Field("", description="SQLAlchemy URL; empty = the embedded SQLite file")
    redis_url: str = ""
    flows_dir: Path = PROJECT_DIR / "flows"
    review_period_months: int = 6  # the editor flags answers whose facts were reviewed longer ago
    flows_reload_seconds: float = 2.0  # how often each process looks for a newly published flow version
    translations_dir: Path = PROJECT_DIR / "translations"
    http_host: str = "127.0.0.1"
    http_port: int = Field(8080, ge=1, le=65535)
    public_base_url: str = ""
    log_level: str = "INFO"
    max_message_chars: int = Field(4000, gt=0)
    # message texts older than this many days are blanked (counts kept); 0 keeps them (`hotline purge`)
    retention_days: int = Field(0, ge=0)
    # the addresses of reverse proxies whose X-Forwarded-For is believed (IPs or networks, comma-separated)
    trusted_proxies: str = ""
    # the web chat, per minute: messages per session, messages per client address, new sessions per address
    webchat_session_rate: int = Field(30, gt=0)
    webchat_address_rate: int = Field(300, gt=0)
    webchat_new_sessions_rate: int = Field(30, gt=0)

    # mediators
    office_hours: str = "Mon-Fri 09:00-18:00"
    office_timezone: str = "Europe/Moscow"
    office_holidays: str = ""
    sla_minutes: int = Field(15, gt=0)
    inactivity_hours: float = Field(24.0, gt=0)
    console_secret_key: SecretStr | None = None
    metrics_token: SecretStr | None = None  # /metrics from other addresses than 127.0.0.1: "Bearer <token>"

    telegram_bot_token: SecretStr | None = None
    telegram_api_base_url: str = "https://api.telegram.org"
    telegram_mode: str = "polling"
    telegram_webhook_secret: SecretStr | None = None

    twilio_account_sid: str = ""
    twilio_auth_token: SecretStr | None = None
    twilio_whatsapp_from: str = ""
    twilio_api_base_url: str = "https://api.twilio.com"
    twilio_template_content_sid: str = ""
    twilio_template_variables: str = ""

    @field_validator("log_level")
    @classmethod
    def _log_level(cls, value: str) -> str:
        level = value.upper()
        if level not in logging.getLevelNamesMapping():
            raise ValueError(f"LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR, not {value!r}")
        return level

    @field_validator("office_timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"OFFICE_TIMEZONE must be a time zone such as Europe/Moscow, not {value!r}") from None
        return value

    @field_validator("telegram_mode")
    @classmethod
    def _telegram_mode(cls, value: str) -> str:
        if value not in ("polling", "webhook"):
            raise ValueError(f"TELEGRAM_MODE must be polling or webhook, not {value!r}")
        return value

    @field_validator("twilio_template_variables")
    @classmethod
    def _template_variables(cls, value: str) -> str:
        return template_variables(value)

    @property
    def whatsapp_enabled(self) -> bool:
        return bool(self.twilio_account_sid and self.twilio_auth_token and self.twilio_whatsapp_from)

    @model_validator(mode="after")
    def _public_address(self) -> Settings:
        """What Telegram's webhook and Twilio's need together: the address they reach, and the secret."""
        public = self.public_base_url.startswith(("https://", "http://"))
        if self.whatsapp_enabled and not public:
            raise ValueError("WhatsApp needs PUBLIC_BASE_URL: Twilio signs its webhooks for the public address")
        if self.telegram_bot_token is not None and self.telegram_mode == "webhook":
            if not public:
                raise ValueError("TELEGRAM_MODE=webhook needs PUBLIC_BASE_URL, the https address Telegram reaches")
            if self.telegram_webhook_secret is None:
                raise ValueError("TELEGRAM_MODE=webhook needs TELEGRAM_WEBHOOK_SECRET (a random string)")
        return self

    def db_url(self) -> str:
        if self.database_url:
            return self.database_url
        DEFAULT_SQLITE.parent.mkdir(parents=True, exist_ok=True)
        return f"sqlite+aiosqlite:///{DEFAULT_SQLITE}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


def template_variables(raw: str) -> str:
    """TWILIO_TEMPLATE_VARIABLES (a JSON object, or empty) as Twilio expects it."""
    if not raw:
        return ""
    try:
        data = json.loads(raw)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise ValueError("TWILIO_TEMPLATE_VARIABLES must be a JSON object such as {\"1\": \"Hotline\"}")
    return json.dumps(data, ensure_ascii=False)


def problems(error: ValidationError) -> str:
    """A ValidationError as lines a person can act on: the variable and what is wrong with it."""
    lines = []
    for item in error.errors(include_url=False, include_input=False):
        where = ".".join(str(part) for part in item["loc"]).upper()
        message = str(item["msg"]).removeprefix("Value error, ")
        lines.append(f"{where}: {message}" if where and where not in message else message)
    return "\n".join(lines)
