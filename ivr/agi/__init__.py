"""Our FastAGI server: panoramisk's parsing, with the EOF and async-HANGUP guards it lacks."""
