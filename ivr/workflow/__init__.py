"""The case workflow after registration: 交办 → 签收 → 退单/延期 → 回复 → 回访 → 归档.

Everything here is pure (no I/O, no clock of its own): the caller passes the time, the
office's holiday list and the case's state. ivr.db.workflow stores the moves, with their
audit entries; ivr.web.workflow_api and workflow_pages serve them.

calendar     WorkCalendar: working days (holidays, 调休) and hours, time counted in them
deadlines    DeadlinePolicy: when a department must accept, reply, may return or extend
transitions  who may do what from which status, and the status that follows
inputs       the checks on what people type: reasons, replies, extension days, surveys
rules        WorkflowRules: the policy, the hours and the settings the workflow runs by
merge_rules  并单: which case may be merged into which (flat: a main case is never merged)
"""
