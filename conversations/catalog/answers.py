"""Re-prompts for replies the engine cannot use, saying what is accepted."""

EN: dict[str, str] = {}
FR: dict[str, str] = {}
