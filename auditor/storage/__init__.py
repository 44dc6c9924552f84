"""Storage: the files lbaudit writes and reads back, in one place.

Evidence and snapshot files (bytes, bounded and validated reading, JSON Schema), the bounded strict
JSON reader every document goes through, and the one writer of every output (``write_atomic``:
nothing half-written, nothing overwritten unasked).  A history store belongs here too.
"""
