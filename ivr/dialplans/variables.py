"""Channel variable names shared by the dialplan (asterisk-config/) and the Python flows."""

CASE_ID = "IVR_CASE_ID"  # set once the case draft exists; AMI events carry it (channelvars)
ROUTE = "IVR_ROUTE"  # where the dialplan sends the call after AGI: `queue` or `leader`
FALLBACK = "IVR_FALLBACK"  # "1" when AGI failed and the dialplan went straight to the queue
LEADER_RESULT = "IVR_LEADER_RESULT"  # QUEUESTATUS when the leader's desk did not answer
# 漏接回拨 ([callback] context): the attempt, whom to dial and for how long
CALLBACK_ID = "IVR_CALLBACK_ID"
CALLBACK_DIAL = "IVR_CALLBACK_DIAL"
CALLBACK_RING = "IVR_CALLBACK_RING"

ROUTE_QUEUE = "queue"
ROUTE_LEADER = "leader"
ROUTE_DONE = "done"  # the flow ended the call on purpose (a callback was requested)
HOTLINE_CONTEXT = "hotline"
HOTLINE_EXTEN = "12345"


def known_caller(callerid: str | None) -> str | None:
    """The caller's number, or None when withheld (Asterisk says "unknown" or "<unknown>").

    None, not a placeholder: withheld numbers must not share one caller history.
    """
    return callerid if callerid and callerid not in ("unknown", "<unknown>") else None
