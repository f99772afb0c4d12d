"""fedsim's Streamlit app: ``streamlit run app.py`` (or ``make run``).

Everything is in :mod:`fedsim_app.frame`; ``pages/<name>.py`` run the same frame for a deep link.
"""

from fedsim_app.frame import run

run()
