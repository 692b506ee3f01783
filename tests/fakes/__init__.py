"""Local fakes of upstream services, shared by tests and benchmarks (127.0.0.1 only)."""
