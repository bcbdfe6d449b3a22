"""The simulator's exchange core, sans-I/O: instruments, order books, orders, accounts and the
matching engine. Everything here is plain synchronous Python driven by function calls and an
injected clock, so tests exercise it without sockets."""
