"""回访: calling citizens back after their case was replied to (the survey flow itself is the
AGI route `followup` in ivr.dialplans.followup)."""
