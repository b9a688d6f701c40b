"""The asyncio engine: one session per endpoint (TCP, TLS, UDP, WebSocket)."""
