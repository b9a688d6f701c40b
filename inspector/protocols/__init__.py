"""Sans-I/O protocol engines: bytes in, records and bytes out. No sockets, no event loop."""
