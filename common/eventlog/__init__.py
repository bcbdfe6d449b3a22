"""The event log: a durable, replayable record of everything published on the bus.

- :mod:`.records`, :mod:`.segment`: the on-disk format (proto/EVENTLOG.md), pure functions.
- :mod:`.scanner`: incremental parser with torn-tail detection (pure).
- :mod:`.continuity`: per-topic seq tracking, which GAP / SESSION records to write (pure).
- :mod:`.planner`: records, rotation and segment names for one stream (pure).
- :mod:`.diskwriter`: the disk thread (write / fsync policy); :mod:`.compression`: zstd.
- :mod:`.recovery`: what a starting writer finds on disk; :mod:`.writer`: the writer core.
- :mod:`.reader`: reading segments back, plain or compressed.
"""
