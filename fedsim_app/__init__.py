"""fedsim's Streamlit teaching app, laid out by page.

- :mod:`fedsim_app.frame`: what runs on every rerun around the page: page config, sidebar,
  ``st.navigation`` with the page list (the root ``app.py`` and ``pages/*.py`` call it).
- :mod:`fedsim_app.pages`: one package per page (``overview``, ``lessons``, ``data``,
  ``training``, ``compare``, ``privacy``, ``crypto``, ``attacks``); each has ``page.py`` with
  ``render()`` and, as it needs them, ``sections.py`` (Streamlit pieces), ``views.py`` (engine
  results → plain numbers and sentences) and ``charts.py`` (pure Plotly figures).
- :mod:`fedsim_app.base`: what every page may use: session state, URL parameters, bound
  widgets, the stepper, classroom links, limits, the TensorFlow runtime, theme, safe text,
  errors, the CSV upload, and the views and charts several pages share.
- :mod:`fedsim_app.i18n`: every user-facing string (``t()``), per session language.

Imports go one way: frame → pages → base → i18n. A page never imports another page (what two
pages share lives in ``base``). Nothing imports TensorFlow at module level, so the Overview,
Lessons and Data pages render without it.
"""
