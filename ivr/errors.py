"""The project's one exception tree; library exceptions are translated at the boundary.

IvrError
├── ConfigError            settings missing or invalid at start
├── CallError              something went wrong talking to a live channel
│   ├── CallerHungUp       the caller hung up (normal, handled in one place)
│   └── AgiCommandFailed   Asterisk answered an AGI command with an error
├── AmiError               the manager interface refused or failed an action
├── SpeechError            transcription or synthesis failed
│   └── ModelUnavailable   no usable vosk model at the configured path
├── ModelDownloadError     `ivr models pull` could not fetch or verify a model
├── AsteriskError          provisioning, starting or stopping Asterisk failed
├── RecordNotFound         a case, call or recording asked for does not exist
├── ValidationError        an edit names an unknown field or carries a bad value
├── StaleEdit              an edit was made against an outdated version of a record
├── ClaimConflict          a draft is claimed by another agent, or the agent holds one already;
│                          a follow-up call is being placed by another process
├── ScheduleError          the duty schedule refused a change (ivr.duty)
│   ├── InvalidLeader      a leader without a name or a reachable endpoint, a bad dial string
│   ├── LeaderUnavailable  a shift names an unknown or inactive leader
│   ├── InvalidShift       ends before it starts, in the past, a time without a time zone
│   ├── ShiftOverlap       a shift overlaps another one (one leader on duty at a time)
│   ├── InvalidHoliday     a holiday entry with a bad kind or name
│   └── ImportRejected     a CSV or iCalendar file had bad rows; carries one message each
├── ActionRefused          a case workflow move not allowed (defined beside its RefusalKind
│                          in ivr.workflow.transitions)
├── LetterRefused          a public mailbox letter failed a check (ivr.cases.letter)
└── AuthError              a console login was refused
    ├── LoginFailed        wrong username or password, or a disabled user
    └── LoginThrottled     too many failed logins lately; carries when to retry
"""

from datetime import datetime


class IvrError(Exception):
    """Base of every error this project raises on purpose."""


class ConfigError(IvrError):
    """Settings are missing or invalid."""


class CallError(IvrError):
    """A problem on a live call."""


class CallerHungUp(CallError):
    """The caller hung up; the flow must stop touching the channel."""


class AgiCommandFailed(CallError):
    """Asterisk rejected an AGI command (5xx) or failed it without a hang-up (-1)."""


class AmiError(IvrError):
    """An AMI action failed or the manager connection is unusable."""


class SpeechError(IvrError):
    """Transcription or prompt synthesis failed."""


class ModelUnavailable(SpeechError):
    """No usable vosk model at the configured path."""


class ModelDownloadError(IvrError):
    """A speech model could not be downloaded or failed its checksum."""


class AsteriskError(IvrError):
    """Provisioning, starting or stopping the bundled Asterisk failed."""


class RecordNotFound(IvrError):
    """A case, call or recording that was asked for does not exist."""


class ValidationError(IvrError):
    """An edit names a field that cannot be edited, or carries a value it cannot take."""


class StaleEdit(IvrError):
    """An edit was based on an older version of the record; reload and edit again."""


class ClaimConflict(IvrError):
    """The draft is claimed by someone else, or the agent already holds one; or another
    process has just placed the follow-up call this one meant to place."""


class AuthError(IvrError):
    """A console login was refused."""


class LoginFailed(AuthError):
    """Wrong username or password, or a disabled user (deliberately not told apart)."""


class LoginThrottled(AuthError):
    """Too many failed logins for this username or client address; retry at `retry_at`."""

    def __init__(self, retry_at: datetime) -> None:
        super().__init__(f"too many failed logins, retry after {retry_at.isoformat()}")
        self.retry_at = retry_at


class ScheduleError(IvrError):
    """The duty schedule refused a change; the message says why, in words for the office."""


class InvalidLeader(ScheduleError):
    """A leader's name, title or endpoints are unusable (no reachable endpoint, bad syntax)."""


class LeaderUnavailable(ScheduleError):
    """A shift names a leader who does not exist or is no longer active."""


class InvalidShift(ScheduleError):
    """A shift that cannot be: ends before it starts, lies in the past, has no time zone."""


class ShiftOverlap(ScheduleError):
    """A shift overlaps another one: only one leader's desk takes the calls at a time."""


class InvalidHoliday(ScheduleError):
    """A holiday entry with an unknown kind or an unusable name."""


class ImportRejected(ScheduleError):
    """A schedule file had bad rows: nothing was imported; `problems` lists each row's."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = tuple(problems)
