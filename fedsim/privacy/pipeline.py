"""Build the ordered protection pipeline from a configuration and check that it makes sense.

Order (client side; the server side runs in reverse):

1. differential privacy (order 10): clip, and for local DP add noise, before anything leaves
   the client — clipping must come before masking or encryption, since after them the client's
   own code can no longer see a norm it could bound;
2. zero-knowledge proofs (order 20): prove the (clipped, quantized) update is in range;
3. secure aggregation or homomorphic encryption (order 30): hide the update; always last.

Server side: verify proofs and drop failures → secure sum (unmask or decrypt) → central DP
noise and clip adaptation.
"""

from __future__ import annotations

from dataclasses import dataclass

from fedsim.config import SimulationConfig, require_linear
from fedsim.errors import IncompatibleConfigError
from fedsim.privacy.base import Mechanism


@dataclass(frozen=True)
class Pipeline:
    mechanisms: tuple[Mechanism, ...]

    @property
    def hider(self) -> Mechanism | None:
        """The mechanism that replaces the plain sum (secure aggregation or HE), if any."""
        return next((m for m in self.mechanisms if m.hides_updates), None)

    def get(self, name: str) -> Mechanism | None:
        return next((m for m in self.mechanisms if m.name == name), None)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(m.name for m in self.mechanisms)

    @property
    def prepares(self) -> bool:
        """Does any mechanism make work ahead (:meth:`Mechanism.prepare`)? If not, the engine
        does not even draw the next round's clients early."""
        return any(type(m).prepare is not Mechanism.prepare for m in self.mechanisms)

    def prepare(self, ctx) -> None:
        """Let every mechanism start the next round's data-independent work (``ctx``)."""
        for m in self.mechanisms:
            m.prepare(ctx)

    def wait_prepared(self, timeout: float | None = None) -> None:
        for m in self.mechanisms:
            m.wait_prepared(timeout)


def validate_order(mechanisms: list[Mechanism], aggregator_name: str) -> None:
    """Reject pipelines that cannot work: see the module docstring for the rules."""
    hiders = [m for m in mechanisms if m.hides_updates]
    if len(hiders) > 1:
        raise IncompatibleConfigError("privacy", [m.name for m in hiders],
                                      "at most one of secure aggregation and HE")
    if hiders:
        require_linear(aggregator_name, [f"{hiders[0].name} is on: the server only learns a sum"])
    if hiders and mechanisms[-1] is not hiders[0]:
        raise IncompatibleConfigError("privacy", [m.name for m in mechanisms],
                                      f"{hiders[0].name} last on the client side")


def build_pipeline(cfg: SimulationConfig, *, layer_slices=None, client_sizes=None) -> Pipeline:
    """The mechanisms ``cfg.privacy`` asks for, in pipeline order, checked.

    ``layer_slices`` (one slice of the flat update per weight tensor) lets HE encrypt a single
    layer; ``client_sizes`` lets DP-SGD calibrate its noise to the clients' data sizes. The
    configuration's own rules already ran when it was built (it is frozen).
    """
    mechs: list[Mechanism] = []
    p = cfg.privacy
    if p.dp.enabled:
        from fedsim.privacy import dp

        mechs.append(dp.from_config(cfg, client_sizes=client_sizes))
    if p.zkp.enabled:
        from fedsim.privacy import zkp

        mechs.append(zkp.from_config(cfg, layer_slices=layer_slices))
    if p.secure_aggregation.enabled:
        from fedsim.privacy import secagg

        mechs.append(secagg.from_config(cfg))
    if p.he.enabled:
        from fedsim.privacy import he

        mechs.append(he.from_config(cfg, layer_slices=layer_slices))
    mechs = [m for m in mechs if m is not None]
    mechs.sort(key=lambda m: m.order)
    validate_order(mechs, cfg.aggregation.name)
    return Pipeline(tuple(mechs))
