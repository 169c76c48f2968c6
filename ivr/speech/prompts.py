"""The hotline's prompts: what each says, and the tones made without a voice.

GB/T 33358-2016 wants a call answered within 15 s and no seconds that do not buy the agent
something, so every prompt is one short sentence. Asterisk plays them by name from
settings.prompts_dir (`greeting` is the 彩铃 played as early media, before Answer()).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ivr.settings import Settings


@dataclass(frozen=True)
class Prompt:
    """A spoken prompt: the text as written, and as given to the synthesizer when they differ."""

    name: str
    text: str
    spoken: str | None = None  # espeak reads "12345" as a quantity; hotlines say 幺二三四五

    @property
    def say(self) -> str:
        """The exact text the synthesizer reads."""
        return self.spoken or self.text


@dataclass(frozen=True)
class Tone:
    """A prompt made with numpy: a sine (freq > 0) or silence (freq == 0)."""

    name: str
    freq: float
    seconds: float


GREETING = Prompt(
    "greeting",
    "您好，欢迎致电12345政务服务便民热线。",
    "您好，欢迎致电幺二三四五政务服务便民热线。",
)
WELCOME = Prompt("welcome", "请在提示音后说出您的诉求，说完请按井号键；直接转人工请按零。")
LEADER_DAY = Prompt("leader_day", "今天是市领导接听日，正在为您接通值班领导。")
LEADER_BUSY = Prompt("leader_busy", "值班领导正在通话中。需要领导回电请按1，转接话务员请稍候。")
LEADER_UNAVAILABLE = Prompt("leader_unavailable", "值班领导暂时无法接听，正在为您转接话务员。")
CALLBACK_NOTED = Prompt("callback_noted", "已为您登记回电，请挂机，谢谢。")
QUEUE_WAIT = Prompt("queue_wait", "话务员正忙，请稍候。")
FOLLOWUP_INTRO = Prompt(
    "followup_intro",
    "您好，这里是12345热线回访。您反映的问题已有办理结果。",
    "您好，这里是幺二三四五热线回访。您反映的问题已有办理结果。",
)
FOLLOWUP_RESOLVED = Prompt("followup_resolved", "问题已解决请按1，未解决请按2。")
FOLLOWUP_SATISFIED = Prompt(
    "followup_satisfied", "对办理结果满意请按1，基本满意请按2，不满意请按3。"
)
FOLLOWUP_WORDS = Prompt("followup_words", "请在提示音后说明原因，说完请按井号键。")
FOLLOWUP_THANKS = Prompt("followup_thanks", "感谢您的配合，再见。")
SORRY = Prompt("sorry", "系统繁忙，正在为您转接人工服务。")

BEEP = Tone("beep", 1000.0, 0.25)  # the "speak after the tone" beep
SILENCE3 = Tone("silence3", 0.0, 3.0)  # simulated callers play it so silence detection sees frames

PROMPTS: tuple[Prompt, ...] = (
    GREETING,
    WELCOME,
    LEADER_DAY,
    LEADER_BUSY,
    LEADER_UNAVAILABLE,
    CALLBACK_NOTED,
    QUEUE_WAIT,
    SORRY,
    FOLLOWUP_INTRO,
    FOLLOWUP_RESOLVED,
    FOLLOWUP_SATISFIED,
    FOLLOWUP_WORDS,
    FOLLOWUP_THANKS,
)
TONES: tuple[Tone, ...] = (BEEP, SILENCE3)


def prompt_file(settings: Settings, name: str) -> Path:
    """The built WAV for a prompt or tone name."""
    return settings.prompts_dir / f"{name}.wav"


def prompt_sound(settings: Settings, name: str) -> str:
    """What Asterisk's Playback/STREAM FILE wants: the path without extension."""
    return str(settings.prompts_dir / name)
