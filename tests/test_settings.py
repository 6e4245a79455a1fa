"""Settings that cannot work are refused when they are read, each with a message naming the variable."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from bot.cli import main
from bot.settings import Settings, ValidationError, get_settings, problems


def refused(**values: Any) -> str:
    with pytest.raises(ValidationError) as caught:
        Settings(**values)
    return problems(caught.value)


def test_the_defaults_are_good() -> None:
    settings = Settings()
    assert (settings.telegram_mode, settings.log_level) == ("polling", "INFO")
    assert settings.office_timezone == "Europe/Moscow"


@pytest.mark.parametrize(("values", "message"), [
    ({"telegram_mode": "webhooks"}, "TELEGRAM_MODE must be polling or webhook, not 'webhooks'"),
    ({"office_timezone": "Europe/Tashkent"}, "OFFICE_TIMEZONE must be a time zone such as Europe/Moscow"),
    ({"log_level": "loud"}, "LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR, not 'loud'"),
    ({"http_port": 70000}, "HTTP_PORT: Input should be less than or equal to 65535"),
    ({"sla_minutes": 0}, "SLA_MINUTES: Input should be greater than 0"),
    ({"inactivity_hours": -1}, "INACTIVITY_HOURS: Input should be greater than 0"),
    ({"max_message_chars": 0}, "MAX_MESSAGE_CHARS: Input should be greater than 0"),
    ({"twilio_template_variables": "[1, 2]"}, "TWILIO_TEMPLATE_VARIABLES must be a JSON object"),
    ({"twilio_template_variables": "{not json"}, "TWILIO_TEMPLATE_VARIABLES must be a JSON object"),
])
def test_a_value_that_cannot_work_is_refused(values: dict[str, Any], message: str) -> None:
    assert message in refused(**values)


def test_a_telegram_webhook_needs_the_public_address_and_a_secret() -> None:
    webhook = {"telegram_bot_token": "123:abc", "telegram_mode": "webhook"}
    assert "TELEGRAM_MODE=webhook needs PUBLIC_BASE_URL" in refused(**webhook)
    assert "TELEGRAM_MODE=webhook needs TELEGRAM_WEBHOOK_SECRET" in refused(
        **webhook, public_base_url="https://hotline.example.test")
    Settings(**webhook, public_base_url="https://hotline.example.test", telegram_webhook_secret="s3cret")
    Settings(telegram_mode="webhook")  # no token: Telegram is not served, nothing to check


def test_log_level_is_read_in_any_case() -> None:
    assert Settings(log_level="debug").log_level == "DEBUG"


@pytest.fixture
def fresh_settings() -> Iterator[None]:
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_the_command_line_says_what_is_wrong_and_exits_with_2(fresh_settings: None, monkeypatch: pytest.MonkeyPatch,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("TELEGRAM_MODE", "hook")
    monkeypatch.setenv("SLA_MINUTES", "0")
    assert main(["db", "upgrade"]) == 2
    err = capsys.readouterr().err
    assert "configuration error" in err
    assert "TELEGRAM_MODE must be polling or webhook, not 'hook'" in err
    assert "SLA_MINUTES: Input should be greater than 0" in err
    assert "Traceback" not in err
