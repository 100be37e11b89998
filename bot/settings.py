"""Configuration from the environment (`PARLEY_*`) or a `.env` file, read once at start-up.

Settings are passed down explicitly from the composition root; nothing reads the
environment later, so a test builds a `Settings(...)` and gets exactly that.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings", "bundled_example"]


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
    open_enrollment: bool = False

    telegram_token: SecretStr | None = None
    slack_bot_token: SecretStr | None = None

    @property
    def platforms_configured(self) -> bool:
        """A real platform is set up: the console then stays off unless asked for."""
        return bool(self.telegram_token or self.slack_bot_token)
