"""WAV in and out as int16 mono numpy, exact rational resampling, and Asterisk's 8 kHz slin.

The reader parses RIFF itself instead of using `wave`: a caller who hangs up mid-recording can
leave a file whose header sizes were never finalized (0, or longer than the file). We trust the
bytes actually present, not the header's lengths.
"""

from __future__ import annotations

import os
import struct
import tempfile
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.signal import resample_poly

from ivr.errors import SpeechError

ASTERISK_RATE = 8000  # Asterisk plays `.wav` as 8 kHz 16-bit mono (slin)
_PCM, _FLOAT, _EXTENSIBLE = 1, 3, 0xFFFE
_UNKNOWN_SIZES = (0, 0xFFFFFFFF)  # what unfinished writers leave in a size field

Samples = npt.NDArray[np.int16]
_INT_DTYPES: dict[int, np.dtype[Any]] = {
    8: np.dtype(np.uint8),  # 8-bit WAV is unsigned
    16: np.dtype("<i2"),
    32: np.dtype("<i4"),
}


@dataclass(frozen=True)
class Audio:
    """Mono 16-bit samples and their rate."""

    samples: Samples
    rate: int

    @property
    def seconds(self) -> float:
        """Duration in seconds."""
        return len(self.samples) / self.rate


@dataclass(frozen=True)
class _Format:
    tag: int
    channels: int
    rate: int
    bits: int


def read_wav(path: Path) -> Audio:
    """Read a PCM/float WAV (any rate, mono or stereo) as int16 mono; tolerates truncation."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SpeechError(f"cannot read audio {path}: {exc}") from exc
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise SpeechError(f"{path} is not a WAV file")
    fmt, payload = _parse_chunks(data, path)
    return Audio(_to_mono_int16(payload, fmt), fmt.rate)


def _parse_chunks(data: bytes, path: Path) -> tuple[_Format, bytes]:
    fmt: _Format | None = None
    pos = 12
    while pos + 8 <= len(data):
        ident, size = data[pos : pos + 4], struct.unpack_from("<I", data, pos + 4)[0]
        body = pos + 8
        if ident == b"fmt ":
            fmt = _parse_fmt(data[body : body + size], path)
        elif ident == b"data":
            if fmt is None:
                break
            if size in _UNKNOWN_SIZES or body + size > len(data):
                size = len(data) - body  # unfinished header: the bytes present are the audio
            return fmt, data[body : body + size]
        pos = body + size + (size & 1)  # chunks are word-aligned
    if fmt is None:
        raise SpeechError(f"{path} has no usable fmt chunk")
    return fmt, b""  # a header and no audio: the caller hung up before saying anything


def _parse_fmt(body: bytes, path: Path) -> _Format:
    if len(body) < 16:
        raise SpeechError(f"{path}: truncated fmt chunk")
    tag, channels, rate, _, _, bits = struct.unpack_from("<HHIIHH", body)
    if tag == _EXTENSIBLE and len(body) >= 26:
        tag = struct.unpack_from("<H", body, 24)[0]  # the sub-format GUID starts with the tag
    bad_bits = bits != 32 if tag == _FLOAT else bits not in _INT_DTYPES
    if tag not in (_PCM, _FLOAT) or channels < 1 or rate < 1 or bad_bits:
        raise SpeechError(f"{path}: unsupported WAV format tag={tag} bits={bits} ch={channels}")
    return _Format(tag, channels, rate, bits)


def _to_mono_int16(payload: bytes, fmt: _Format) -> Samples:
    frame = fmt.channels * fmt.bits // 8
    payload = payload[: len(payload) - len(payload) % frame]  # drop a torn last frame
    dtype = np.dtype("<f4") if fmt.tag == _FLOAT else _INT_DTYPES[fmt.bits]
    raw = np.frombuffer(payload, dtype=dtype).reshape(-1, fmt.channels).astype(np.float64)
    scaled = _scale_to_int16(raw, fmt)
    return _clip_int16(scaled.mean(axis=1))


def _scale_to_int16(raw: npt.NDArray[np.float64], fmt: _Format) -> npt.NDArray[np.float64]:
    if fmt.tag == _FLOAT:
        return raw * 32767.0
    if fmt.bits == 8:
        return (raw - 128.0) * 256.0  # 8-bit WAV is unsigned
    if fmt.bits == 32:
        return raw / 65536.0
    return raw


def _clip_int16(values: npt.NDArray[np.float64]) -> Samples:
    return np.clip(np.rint(values), -32768, 32767).astype(np.int16)


def resample(audio: Audio, rate: int) -> Audio:
    """Resample by the exact ratio rate/audio.rate (polyphase); duration is kept."""
    if rate == audio.rate or len(audio.samples) == 0:
        return Audio(audio.samples, rate)
    ratio = Fraction(rate, audio.rate)
    out = resample_poly(audio.samples.astype(np.float64), ratio.numerator, ratio.denominator)
    return Audio(_clip_int16(np.asarray(out, dtype=np.float64)), rate)


def write_wav(path: Path, audio: Audio) -> Path:
    """Write 16-bit mono PCM, atomically (Asterisk may be reading the old file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pcm = audio.samples.astype("<i2").tobytes()
    header = struct.pack(
        "<4sI4s4sIHHIIHH4sI",
        b"RIFF",
        36 + len(pcm),
        b"WAVE",
        b"fmt ",
        16,
        _PCM,
        1,
        audio.rate,
        audio.rate * 2,
        2,
        16,
        b"data",
        len(pcm),
    )
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(header + pcm)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def to_asterisk_wav(src: Path, dst: Path) -> Path:
    """Convert any readable WAV into what Asterisk plays as `.wav`: 8 kHz 16-bit mono."""
    return write_wav(dst, resample(read_wav(src), ASTERISK_RATE))


def wav_duration(path: Path) -> float:
    """Seconds of audio actually present in a WAV file."""
    return read_wav(path).seconds


def tone(freq: float, seconds: float, *, rate: int = ASTERISK_RATE, level: float = 0.5) -> Audio:
    """A sine tone with 5 ms fades (no clicks), level as a fraction of full scale."""
    t = np.arange(round(seconds * rate)) / rate
    wave = np.sin(2 * np.pi * freq * t) * level * 32767.0
    ramp = min(len(wave) // 2, int(0.005 * rate))
    if ramp:
        fade = np.linspace(0.0, 1.0, ramp)
        wave[:ramp] *= fade
        wave[-ramp:] *= fade[::-1]
    return Audio(_clip_int16(wave), rate)


def silence(seconds: float, *, rate: int = ASTERISK_RATE) -> Audio:
    """Digital silence of the given length."""
    return Audio(np.zeros(round(seconds * rate), dtype=np.int16), rate)
