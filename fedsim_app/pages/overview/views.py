"""The Overview's live picture: which rounds of the session's scenario it shows, run by the
engine through the server's shared run cache, and the strings it needs in this language."""

from __future__ import annotations

from fedsim_app.base import limits, runs
from fedsim_app.base.theme import CLIENT_PALETTE, LABEL_PALETTE
from fedsim_app.i18n import t
from fedsim_app.pages.overview import animation

#: The picture shows at most this many rounds, and at most this much engine time (estimated):
#: the first screen must appear in a second or two even for a heavy scenario.
MAX_ROUNDS = 8
ENGINE_BUDGET_S = 2.0


def picture_rounds(cfg) -> int:
    """How many rounds of ``cfg`` the picture runs: all of its first :data:`MAX_ROUNDS`, fewer
    when one round is estimated to cost more than :data:`ENGINE_BUDGET_S` / that many."""
    per_round = max(limits.estimate(cfg).round_seconds, 1e-3)
    return max(1, min(cfg.rounds, MAX_ROUNDS, int(ENGINE_BUDGET_S / per_round)))


def summary(cfg):
    """The run the picture animates (computed once per server for this configuration)."""
    return runs.summary(cfg, rounds=picture_rounds(cfg))


def strings() -> dict[str, str]:
    from fedsim.engine.results import PHASES

    out = {f"phase.{p}": t(f"phase.{p}") for p in PHASES}
    out.update({f"what.{p}": t(f"ov.fs.what.{p}") for p in PHASES})
    for key in ("round", "server", "accuracy", "mse", "client", "rows", "loss", "paused",
                "engine_ms", "no_rounds"):
        out[key] = t(f"ov.fs.{key}")
    return out


def document(summary_) -> str:
    return animation.document(animation.frames(summary_), strings(), CLIENT_PALETTE,
                              LABEL_PALETTE)
