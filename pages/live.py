"""Entry for a deep link to /live: the whole app (see :mod:`fedsim_app.frame` for why)."""
from fedsim_app.frame import run

run()
