"""English strings of the Privacy (DP) page (merged into ``ui.text.STRINGS``)."""

EN: dict[str, str] = {
    "nav.privacy": "Privacy (DP)",
}
