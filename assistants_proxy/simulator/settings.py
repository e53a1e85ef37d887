"""Options of a simulator instance (`create_app(**options)`); directives override per run."""

from dataclasses import dataclass

from .script import DEFAULT_REPLY_TOKENS


@dataclass(frozen=True)
class Settings:
    rate: float = 30.0  # tokens per second, about what gpt-4o streams
    default_tokens: int = DEFAULT_REPLY_TOKENS  # length of the Markdown reply
    first_token_delay: float = 0.0  # seconds before a reply's first delta
    strict_headers: bool = False  # reject requests without OpenAI-Beta / Authorization

    def __post_init__(self) -> None:
        if not self.rate > 0:
            raise ValueError(f"rate must be positive, got {self.rate!r}")
        if self.default_tokens < 1:
            raise ValueError(f"default_tokens must be at least 1, got {self.default_tokens!r}")
        if self.first_token_delay < 0:
            raise ValueError("first_token_delay must not be negative")
