"""English strings of the What the server sees page (merged into ``ui.text.STRINGS``)."""

EN: dict[str, str] = {
    "nav.crypto": "What the server sees",
}
