"""`nexsis diff`: one seeded stateful scenario against two deployments, compared call by call.

Modules: `calls` (a call as compared), `scenario` (the calls sent to a site, built on the suite's
fixture graph and guard), `replay` (a HAR recorded by `nexsis proxy` as the reference, its requests
replayed), `compare` (status, content type, shape, values, with learned mappings), `cli`.
"""
