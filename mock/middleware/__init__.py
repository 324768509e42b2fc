"""The server layer between uvicorn and the domain, one module per step of the request pipeline.

``pipeline`` is the one request path of both APIs (limits -> decode -> endpoint -> faults ->
auth -> validation -> ``Service.call`` -> render -> journal); the other modules are its steps.
"""
