"""`nexsis proxy`: a reverse proxy that forwards both APIs unchanged and judges every exchange.

Modules: `exchange` (one request/answer as seen on the wire), `judge` (the suite's checks applied to
live traffic, Moodle-aware), `forward` (the ASGI app: httpx upstream, bodies streamed), `har`
(HAR 1.2 written as it goes), `collector` (live lines, reports), `cli` (the subcommand).
"""
