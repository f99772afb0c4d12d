"""The neutral base every page may use (never a page: imports go page → base → i18n).

- Streamlit glue: ``state`` (per-session configuration and run), ``controls`` (widgets bound
  to one configuration field), ``stepper``, ``classroom`` (share links, ``?hide=``,
  presenter view), ``csv_upload``, ``nav`` (links between pages by url path).
- Plain code: ``params`` (configuration ⇄ URL), ``limits`` (classroom caps), ``runtime``
  (TensorFlow warm-up and session clean-up), ``theme`` (Plotly template, colour meanings),
  ``safe`` (user text into Markdown), ``errors`` (engine errors in the user's language),
  ``views`` and ``charts`` (the views and figures several pages share).
"""
