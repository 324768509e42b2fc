"""Custom schemathesis checks, one module per family, registered with `@schemathesis.check`.

Each check only speaks about the operations it understands (Moodle WS checks ignore NexSIS cases and
vice versa), so registering them globally cannot change another schemathesis run in the process.
"""
