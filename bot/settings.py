"""Configuration from the environment (`PARLEY_*`) or a `.env` file, read once at start-up.

Settings are passed down explicitly from the composition root; nothing reads the
environment later, so a test builds a `Settings(...)` and gets exactly that.
"""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings", "bundled_example"]

_CHANNEL_IDS = {"slack": re.compile(r"[A-Z][A-Z0-9]{2,}"), "telegram": re.compile(r"-?[0-9]+")}
_TOKENS = {"slack": "PARLEY_SLACK_BOT_TOKEN", "telegram": "PARLEY_TELEGRAM_TOKEN"}


def bundled_example() -> Path:
    """The example questionnaire shipped with Parley (in the wheel or the source tree)."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "_examples", here.parent / "examples"):
        path = candidate / "settlement-data-needs.yaml"
        if path.exists():
            return path
    return here.parent / "examples" / "settlement-data-needs.yaml"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="PARLEY_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    database_url: str = "sqlite:///parley.db"
    questionnaire: Path = bundled_example()
    log_level: str = "WARNING"
    role: str = "all"
    """What this process does: all, web, dispatcher or scheduler (`bot.app`, #8)."""
    log_format: str = "text"
    """`text`, or `json`: one JSON object per log record, with the event id (`bot.logs`)."""
    open_enrollment: bool = False

    telegram_token: SecretStr | None = None
    telegram_api_url: str = "https://api.telegram.org"
    telegram_webhook_url: str | None = None
    telegram_webhook_secret: SecretStr | None = None
    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    """When set, Socket Mode: Slack is reached over a WebSocket, no public URL needed."""
    slack_api_url: str = "https://slack.com/api/"

    http_host: str = "127.0.0.1"
    http_port: int = 8080
    research_channel: str | None = None
    """Where researchers talk to Parley and digests go: `telegram:<chat_id>` or `slack:<id>`."""
    researchers: str = ""
    """Identities with the researcher role, comma-separated: `telegram:123,slack:U456`."""
    invite_valid_days: int = 30

    scheduler: bool = True
    """Run the scheduler (follow-ups, nudges) in this process (#5)."""
    schedule_grace_hours: float = 6
    """A send missed while down goes out if at most this late; older ones are recorded missed."""
    quiet_hours: str = "20:00-09:00"
    """Stakeholders' local quiet hours (`HH:MM-HH:MM`); a send inside waits for the end."""
    quiet_weekends: bool = True
    researcher_time_zone: str = "America/Toronto"
    """The zone researcher commands read and show times in, unless `--zone` says otherwise;
    also the zone of stakeholders who have not said theirs yet (`bot.time_zones`)."""
    digest_schedule: str = ""
    """When the digest is posted to the research channel, e.g. `weekdays 09:00
    America/Toronto` (zone optional: the research team's); empty means no digests."""

    @property
    def researcher_identities(self) -> frozenset[tuple[str, str]]:
        pairs = (entry.strip().split(":", 1) for entry in self.researchers.split(","))
        return frozenset((p[0], p[1]) for p in pairs if len(p) == 2 and p[1])

    @property
    def research_address(self) -> tuple[str, str] | None:
        if not self.research_channel or ":" not in self.research_channel:
            return None
        platform, address = self.research_channel.split(":", 1)
        return platform, address

    def research_channel_problem(self) -> str | None:
        """What is wrong with `research_channel`, in one line naming the setting; None if
        nothing is (unset means the console)."""
        value = (self.research_channel or "").strip()
        if not value:
            return None
        platform, _, chat = value.partition(":")
        pattern = _CHANNEL_IDS.get(platform)
        if pattern is None or not pattern.fullmatch(chat):
            return (
                f"PARLEY_RESEARCH_CHANNEL '{value}': use slack:<channel id> (e.g. slack:C0123ABC) "
                "or telegram:<group chat id> (e.g. telegram:-1001234567890)"
            )
        token = self.slack_bot_token if platform == "slack" else self.telegram_token
        if token is None:
            return (
                f"PARLEY_RESEARCH_CHANNEL '{value}': {platform.capitalize()} is not configured "
                f"({_TOKENS[platform]} is not set)"
            )
        return None

    def log_format_problem(self) -> str | None:
        """What is wrong with `log_format`, in one line; None if nothing is."""
        if self.log_format.strip().lower() in ("text", "json"):
            return None
        return f"PARLEY_LOG_FORMAT '{self.log_format}': use text or json"

    @property
    def platforms_configured(self) -> bool:
        """A real platform is set up: the console then stays off unless asked for."""
        return bool(self.telegram_token or self.slack_bot_token)
