"""The bridge to Flower: export a fedsim experiment as a Flower App, run it on Flower.

- :func:`fedsim.flower.export.export_app` writes a self-contained Flower App (Message API:
  ``flwr.serverapp``, ``flwr.clientapp``, ``ArrayRecord``, ``flwr.serverapp.strategy``).
- :func:`fedsim.flower.run.run_simulation` runs it on Flower's Simulation Engine (Ray) and
  returns fedsim's run JSON.
- :mod:`fedsim.flower.cli`: ``python -m fedsim flower export|run``.

``flwr`` is the optional ``flower`` extra; importing this package does not import it.
"""

from fedsim.flower.export import export_app, flower_strategy
from fedsim.flower.run import flower_available, run_simulation

__all__ = ["export_app", "flower_available", "flower_strategy", "run_simulation"]
