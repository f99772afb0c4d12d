"""Placeholder while the page is being written."""

import streamlit as st

from ui import nav
from ui.text import t

nav.ensure_frame()
st.title(t("nav.crypto"))
