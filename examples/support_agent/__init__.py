"""The bundled example: a support agent written with the plain openai SDK.

``agent.run`` is the code as released in 2026.11.3 (the three incidents were recorded
from it); ``fixed.run`` is the same agent loop with the three fixes switched on.
"""
