"""12345 citizen hotline IVR: Asterisk FastAGI/AMI bridge, intake, cases and agent queue."""
