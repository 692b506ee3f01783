"""openslots: a self-hosted calendar-sync worker and availability engine."""

__version__ = "0.1.0"
