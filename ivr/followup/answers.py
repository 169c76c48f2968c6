"""Spoken survey answers: the phrases a citizen may say for each key, and what was said.

The table (ivr/followup/answers.toml, or `survey_answers_file`) gives, per question, the
phrases that mean each key. The recording of the citizen's answer is decoded in vosk's
grammar mode with just those phrases, so the recogniser can only pick among them (or
"[unk]"); what comes back is then read greedily, longest phrase first ("不满意" is not
"满意"), and counts when every phrase heard means the same key ("满意 满意" is still 1).
"""

from __future__ import annotations

import dataclasses
import functools
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path

from ivr.errors import ConfigError
from ivr.settings import Settings

UNKNOWN = "[unk]"
BUILT_IN = Path(__file__).with_name("answers.toml")


@dataclasses.dataclass(frozen=True)
class SpokenChoices:
    """One question's phrases, each meaning one key."""

    keys_by_phrase: Mapping[str, str]

    @property
    def grammar(self) -> list[str]:
        """The phrases as vosk's grammar mode wants them, with the catch-all."""
        return [*self.keys_by_phrase, UNKNOWN]

    def key_for(self, heard: str) -> str | None:
        """The key the words heard mean; None when nothing or several things were said."""
        text = _squeezed(heard.replace(UNKNOWN, " "))
        phrases = sorted(
            ((_squeezed(p), key) for p, key in self.keys_by_phrase.items()),
            key=lambda pair: -len(pair[0]),
        )
        keys, at = set(), 0
        while at < len(text):
            match = next(((p, k) for p, k in phrases if text.startswith(p, at)), None)
            if match is None:
                at += 1
                continue
            keys.add(match[1])
            at += len(match[0])
        return keys.pop() if len(keys) == 1 else None


def answers_from_settings(settings: Settings) -> dict[str, SpokenChoices]:
    """The table the settings name, else the built-in Mandarin one (read once)."""
    return _cached(settings.survey_answers_file or str(BUILT_IN))


@functools.lru_cache(maxsize=4)
def _cached(path: str) -> dict[str, SpokenChoices]:
    return load_answers(Path(path))


def load_answers(path: Path) -> dict[str, SpokenChoices]:
    """Each question's spoken choices from a TOML table (ConfigError naming what is wrong)."""
    try:
        with path.open("rb") as fh:
            raw = tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read survey answers {path}: {exc}") from exc
    return {question: _choices(path, question, table) for question, table in raw.items()}


def _choices(path: Path, question: str, table: object) -> SpokenChoices:
    if not isinstance(table, Mapping):
        raise ConfigError(f"{path}: [{question}] must be a table of key = [phrases]")
    keys_by_phrase: dict[str, str] = {}
    for key, phrases in table.items():
        if not (isinstance(key, str) and key.isdigit() and _phrase_list(phrases)):
            raise ConfigError(f"{path}: [{question}] {key!r} must be a digit = [phrases]")
        for phrase in phrases:
            if keys_by_phrase.setdefault(phrase.strip(), key) != key:
                raise ConfigError(f"{path}: [{question}] {phrase!r} means two keys")
    return SpokenChoices(keys_by_phrase)


def _phrase_list(value: object) -> bool:
    return (
        isinstance(value, Sequence)
        and not isinstance(value, str)
        and bool(value)
        and all(isinstance(p, str) and p.strip() for p in value)
    )


def _squeezed(text: str) -> str:
    return "".join(text.split())
