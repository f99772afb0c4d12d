"""``python -m fedsim_app [--port N] [--host H] [--lang zh|en] [--headless]``: start the app
(:mod:`fedsim_app.launch`; the same as the ``fedsim-playground`` command)."""

import sys

from fedsim_app.launch import main

sys.exit(main(prog="python -m fedsim_app"))
