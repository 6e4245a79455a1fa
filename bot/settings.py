"""The one module that reads configuration (environment variables and an optional .env file)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

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
    http_port: int = 8080
    public_base_url: str = ""
    log_level: str = "INFO"
    max_message_chars: int = 4000

    # mediators
    office_hours: str = "Mon-Fri 09:00-18:00"
    office_timezone: str = "Europe/Moscow"
    office_holidays: str = ""
    sla_minutes: int = 15
    inactivity_hours: float = 24.0
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

    def db_url(self) -> str:
        if self.database_url:
            return self.database_url
        DEFAULT_SQLITE.parent.mkdir(parents=True, exist_ok=True)
        return f"sqlite+aiosqlite:///{DEFAULT_SQLITE}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
