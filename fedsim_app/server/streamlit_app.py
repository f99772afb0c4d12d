"""The app's main script when it is started by fedsim_app.launch (``fedsim-playground``, ``python -m fedsim_app``, ``make run``): Streamlit reads ``.streamlit/config.toml`` beside it (this folder has no ``pages/``, see the package docstring)."""
from fedsim_app.frame import run

run()
