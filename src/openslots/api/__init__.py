"""The native HTTP API (DESIGN §4), built by :func:`openslots.api.app.create_app`."""
