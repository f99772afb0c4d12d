"""What the installed command serves: the main script Streamlit runs and, beside it, the
Streamlit settings it reads (``.streamlit/config.toml``). A folder of its own so that no
``pages/`` folder sits beside the main script: Streamlit would take one for its legacy
multipage folder and look there for the pages ``st.navigation`` already lists.
"""
