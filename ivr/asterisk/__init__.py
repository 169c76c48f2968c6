"""The bundled Asterisk 22: provisioning, configuration rendering and process control."""
