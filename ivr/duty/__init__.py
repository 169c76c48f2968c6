"""The leader-on-duty schedule: leaders, shifts, holidays, rotation, file exchange.

Everything here is pure (no I/O, no clock of its own): ivr.db.duty stores the schedule and
ivr.web.duty_api serves it. The call flow asks `ivr.db.duty.duty_now`, which reads the
schedule and calls `ivr.duty.lookup.duty_at`.
"""
