"""The audit history: append-only, hash-chained records of every decision, tool execution,
approval resolution, run status change and refused login, searchable and exportable."""
