"""The AMI side: panoramisk's Manager with a ping watchdog and ordered event delivery."""
