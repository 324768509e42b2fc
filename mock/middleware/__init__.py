"""The server layer between uvicorn and the domain, one module per concern.

``front`` (limits, server.php routing, faults, journal) wraps the Connexion app; ``validation``
plugs PHP's wire rules into Connexion's validators; ``dispatch`` turns validated requests into
``Service.call`` and results into responses; ``errors`` answers Connexion's problems as NexSIS or
Moodle would; ``moodle`` holds Moodle's REST wire format.
"""
