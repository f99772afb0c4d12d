"""The Streamlit app's shared code.

- ``text``: every user-facing string (translation-ready).
- ``theme``: the Plotly template and colour meanings (client k, global model, baselines).
- ``params``: configuration ⇄ URL query parameters.
- ``views``: engine results → plain tables, numbers and sentences.
- ``charts``: pure data → Plotly Figure functions (unit-tested without Streamlit).
- ``compare``: the Compare page's variants.
- ``model_views``: decision-boundary predictions from a live simulation.
- ``state``, ``controls``, ``nav``: Streamlit glue (session state, bound widgets, page list).

Only ``state``, ``controls`` and ``nav`` import Streamlit; nothing here imports TensorFlow at
module level, so the Overview and Data pages render without it.
"""
