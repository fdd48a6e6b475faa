"""The audit history: append-only, hash-chained records of every decision, tool execution,
approval resolution and run status change, searchable and exportable."""
