"""AMI event handling: queue and channel events onto call records."""
