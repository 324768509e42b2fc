"""The run-owned fixture graph: records built through the API itself so that success paths are reachable.

A conformance suite that only ever sees 400/404 never checks a success schema. Before an operation is
fuzzed, the graph gives it an *anchor*: one request whose ids name records that exist in a coherent
way (a group in its course, a completion of an enrolled user, an allocation of an owned user to a
sandbox program), so a correct deployment answers it with success. The same bindings are used for a
share of the generated positive cases (see `rewrite.Rewriter`).

Rules it keeps:
- Every record it creates carries the run's id prefix (NexSIS) or was returned to one of its own
  creations (Moodle ids), so the guard's ownership rules hold in `safe` mode; foreign records are
  only named when the config's sandbox lists them, or in `full` mode on loopback after discovery.
- Entities are built lazily (only what the selected operations need), in dependency order, once;
  the guard's observer registers each creation's undo, and cleanup runs them in reverse.
- Destructive operations never touch the shared graph: each gets its own *victim*, created right
  before the request that removes it, so fuzzing a delete cannot take away what a later read needs.
- In `read-only` mode nothing is created: anchors use sandbox ids from the config only.

Internal Moodle ids of owned NexSIS records are learned from answers that carry them: a completion
row names the course and user ids, a program allocation row the program and user ids, a metalink
row the child course id. Those ids are then owned for the web-service guard too.
"""

from nexsis_contracts.graph.anchors import FixtureGraph
from nexsis_contracts.graph.base import COMPLETION_TIME, START, Anchor

__all__ = ["COMPLETION_TIME", "START", "Anchor", "FixtureGraph"]
