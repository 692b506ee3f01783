"""Calendar sync: the connector plugin contract, normalization of events into busy blocks,
and the SSRF-safe fetching of user-supplied URLs (DESIGN §5)."""
