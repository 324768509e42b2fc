"""The simulated site's state: slotted records, indexed tables with cascades, and the SQLite journal."""

from nexsis_mock.store.state import State

__all__ = ["State"]
