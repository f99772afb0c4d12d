"""Flower strategies configured the way fedsim aggregates (``settings.json["strategy"]``).

Everything here is one of Flower's own strategies from ``flwr.serverapp.strategy``; where
fedsim's convention differs from Flower's default, a subclass changes only that:

- simple (unweighted) mean: Flower's FedAvg always weights by a metric key, so every client
  also reports ``unit-weight = 1`` and the strategy weights by that key. Median, trimmed mean
  and Krum/Multi-Krum use it too (fedsim's Multi-Krum averages the chosen updates plainly;
  Flower's would weight them by ``num-examples``).
- FedAdam/FedYogi/FedAdagrad: Flower starts the second moment at v₀ = 0; fedsim (and Reddi et
  al.'s Algorithm 2) at τ². Flower's FedAdam also multiplies η by the bias correction
  √(1−β₂^(t+1))/(1−β₁^(t+1)); fedsim does not, so the subclass divides it back out.
- FedAdagrad: Flower keeps no first moment (β₁ = 0); fedsim uses β₁ like Adam and Yogi.
- FedAvg with a server learning rate ≠ 1 is FedAvgM with momentum 0 (Flower's FedAvgM
  applies ``w ← w − η·m`` with the pseudo-gradient ``old − new``: the same as fedsim's
  ``w ← w + η·Δ``).
"""

from __future__ import annotations

import numpy as np
from flwr.serverapp import strategy as fs


class _V0Tau:
    """v starts at τ² (fedsim / Reddi et al.) instead of Flower's 0."""

    def configure_train(self, server_round, arrays, config, grid):
        if not self.v_t:
            self.v_t = {k: np.full(a.numpy().shape, self.tau ** 2, np.float64)
                        for k, a in arrays.items()}
        return super().configure_train(server_round, arrays, config, grid)


class FedsimFedAdam(_V0Tau, fs.FedAdam):
    """FedAdam without Flower's bias correction (fedsim's convention)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._eta0 = self.eta

    def configure_train(self, server_round, arrays, config, grid):
        r = server_round + 1.0  # the exponent Flower's FedAdam uses in aggregate_train
        self.eta = self._eta0 * (1 - self.beta_1 ** r) / np.sqrt(1 - self.beta_2 ** r)
        return super().configure_train(server_round, arrays, config, grid)


class FedsimFedYogi(_V0Tau, fs.FedYogi):
    pass


class FedsimFedAdagrad(_V0Tau, fs.FedAdagrad):
    """FedAdagrad with first moment β₁ (fedsim, Reddi et al.); Flower's fixes β₁ = 0."""

    def __init__(self, *args, beta_1: float = 0.0, **kwargs):
        super().__init__(*args, **kwargs)
        self.beta_1 = beta_1


def build_strategy(s: dict):
    """The Flower strategy for ``settings.json["strategy"]`` (``s``), DP wrapper included."""
    common = dict(fraction_train=s["fraction_train"], fraction_evaluate=0.0,
                  min_train_nodes=s["min_train_nodes"], min_evaluate_nodes=0,
                  min_available_nodes=s["min_available_nodes"],
                  weighted_by_key=s["weighted_by_key"])
    kind = s["kind"]
    if kind == "fedavg":
        strat = fs.FedAvg(**common)
    elif kind == "fedprox":
        strat = fs.FedProx(**common, proximal_mu=s["proximal_mu"])
    elif kind == "fedavgm":
        strat = fs.FedAvgM(**common, server_learning_rate=s["server_lr"],
                           server_momentum=s["server_momentum"])
    elif kind in ("fedadam", "fedyogi"):
        cls = FedsimFedAdam if kind == "fedadam" else FedsimFedYogi
        strat = cls(**common, eta=s["server_lr"], eta_l=s["client_lr"], beta_1=s["beta1"],
                    beta_2=s["beta2"], tau=s["tau"])
    elif kind == "fedadagrad":
        strat = FedsimFedAdagrad(**common, eta=s["server_lr"], eta_l=s["client_lr"],
                                 tau=s["tau"], beta_1=s["beta1"])
    elif kind == "fedmedian":
        strat = fs.FedMedian(**common)
    elif kind == "fedtrimmedavg":
        strat = fs.FedTrimmedAvg(**common, beta=s["beta"])
    elif kind == "krum":
        strat = fs.Krum(**common, num_malicious_nodes=s["num_malicious_nodes"])
    elif kind == "multikrum":
        strat = fs.MultiKrum(**common, num_malicious_nodes=s["num_malicious_nodes"],
                             num_nodes_to_select=s["num_nodes_to_select"])
    else:
        raise ValueError(f"unknown strategy {kind!r}")
    dp = s.get("central_dp")
    if dp:
        strat = fs.DifferentialPrivacyServerSideFixedClipping(
            strat, noise_multiplier=dp["noise_multiplier"], clipping_norm=dp["clip"],
            num_sampled_clients=dp["num_sampled_clients"])
    return strat
