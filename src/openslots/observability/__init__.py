"""What an operator sees of a running openslots: Prometheus metrics and structured logs.

* :mod:`openslots.observability.metrics`: the process's instruments, in a registry of their own
  (never prometheus_client's global one, so two apps in one process, as in tests, share none);
* :mod:`openslots.observability.http_timing`: the ASGI middleware timing requests by route;
* :mod:`openslots.observability.connection_gauge`: connections by status, read at scrape time;
* :mod:`openslots.observability.exporter`: ``/metrics`` for a process without the HTTP API
  (``openslots worker``);
* :mod:`openslots.observability.redaction` and :mod:`openslots.observability.logs`: log lines
  as text or JSON, scrubbed of credentials, API keys, tokens and secret URLs.
"""
