"""What an honest-but-curious server reconstructs of one client, under a configuration.

:func:`reconstruct` builds the configured federation, takes the update client ``client``
would send from the global model of round ``round`` (the seeded initial model for round 0)
after ``steps`` local SGD steps on ``batch`` of its examples (:func:`inversion.client_update`;
defaults 1 and 1, FedSGD on one digit), applies the configured protections to what the server
receives, and inverts it (``analytic`` or ``dlg``). Protections, as they bear on the server:

- **DP** (``privacy.dp``): ``local`` and ``central`` clip the update to ``clip`` and add
  noise of std z·C (central: the server that knows the other clients subtracts them; see
  :mod:`fedsim.tools.inversion`); ``dpsgd`` clips the per-example gradient to C and adds
  z·C to it, i.e. clip lr·C and noise lr·z·C on the update — exact for ``batch = 1`` and
  ``steps = 1``, the per-step noise of several steps is approximated by one draw. With a
  ``target_epsilon`` the engine's calibrated noise multiplier is used.
- **secure aggregation / HE**: the server learns only the (weighted) mean of every sampled
  client's update, each computed the same way, and inverts that.
- **ZKP**: honest clients clip before proving (L∞: every coordinate to the bound; L2: the
  proved part's norm), so the server sees the clipped update.

Imports TensorFlow (through :mod:`fedsim.tools.inversion`) only when called.
"""

from __future__ import annotations

import time

import numpy as np

from fedsim.errors import ConfigError


def _noise_multiplier(cfg, fed) -> float:
    dp = cfg.privacy.dp
    if dp.target_epsilon is None:
        return float(dp.noise_multiplier)
    from fedsim.privacy import dp as dpmod

    mech = dpmod.from_config(cfg, client_sizes=fed.client_data.counts)
    return float(getattr(mech, "noise_multiplier", dp.noise_multiplier))


def _zkp_clip(cfg, delta: list[np.ndarray]) -> list[np.ndarray]:
    z = cfg.privacy.zkp
    if not z.enabled:
        return delta
    if z.norm == "linf":
        return [np.clip(d, -z.bound, z.bound) for d in delta]
    idx = range(len(delta)) if z.layer is None else [z.layer]
    norm = float(np.sqrt(sum(float(np.sum(delta[i] ** 2)) for i in idx)))
    if norm <= z.bound:
        return delta
    out = list(delta)
    for i in idx:
        out[i] = delta[i] * (z.bound / norm)
    return out


def reconstruct(cfg, client: int = 0, method: str = "analytic", batch: int = 1,
                steps: int = 1, *, iterations: int = 1000, restarts: int = 2,
                weights: list[np.ndarray] | None = None, federation=None) -> dict:
    """Reconstruct client ``client``'s examples from what the server receives under ``cfg``.

    Returns a JSON-ready dict: ``psnr``, ``ssim``, ``mse`` (pixels, digits' 0–16 range),
    ``baseline_psnr`` (the mean-digit and uniform guesses), ``true``/``reconstruction``
    (``[batch, d]`` pixel arrays, rows matched), ``labels``/``recovered_labels``, what the
    server saw (``sees``: ``"update"`` or ``"sum"``), the DP noise std and the seconds taken.
    ``weights`` is the global model to start from (default: the seeded initial model).
    """
    from fedsim.training.models import initial_weights
    from fedsim.engine.federation import build_federation
    from fedsim.tools import inversion as inv

    if method not in ("analytic", "dlg"):
        raise ConfigError("--method", method, "'analytic' or 'dlg'")
    fed = federation or build_federation(cfg)
    n = cfg.clients.num_clients
    if not 0 <= client < n:
        raise ConfigError("--client", client, f"a client id from 0 to {n - 1}")
    if steps < 1:
        raise ConfigError("--steps", steps, "an integer >= 1")
    data = fed.data
    if data.task != "classification" or data.image_shape is None:
        raise ConfigError("dataset.name", cfg.dataset.name,
                          "'digits' (the reconstruction is scored as an image)")
    counts = fed.client_data.counts
    if not 1 <= batch <= int(counts[client]):
        raise ConfigError("--batch", batch,
                          f"from 1 to {int(counts[client])} (client {client}'s training rows)")
    if method == "analytic" and cfg.model_name not in inv.DENSE_FIRST:
        raise ConfigError("model.name", cfg.model_name,
                          "'mlp' or 'logistic' for analytic inversion (it needs a first dense "
                          "layer); use --method dlg")
    spec, lr = fed.spec, cfg.training.lr
    w0 = weights if weights is not None else initial_weights(spec, cfg.seed)
    dpc = cfg.privacy.dp
    dp = None
    if dpc.mode in ("local", "central"):
        dp = inv.DPNoise(dpc.clip, _noise_multiplier(cfg, fed), "local")
    elif dpc.mode == "dpsgd":
        dp = inv.DPNoise(lr * dpc.clip, _noise_multiplier(cfg, fed), "local")
    hides = cfg.privacy.secure_aggregation.enabled or cfg.privacy.he.enabled

    def update_of(k: int, noise):
        cd = fed.client_data
        x, y, _, _ = cd.client(k)
        b = min(batch, int(counts[k]))
        u = inv.client_update(spec, w0, x, y, steps=steps, batch=b, lr=lr, dp=noise,
                              seed=cfg.seed, client_id=k)
        return u, _zkp_clip(cfg, [np.asarray(d, np.float64) for d in u.delta])

    t0 = time.perf_counter()
    target, seen = update_of(client, dp)
    noise_std = target.noise_std
    if hides:
        # The server only has the (weighted) mean of everyone's update.
        ks = range(n)
        ws = np.array([counts[k] if cfg.aggregation.weighted else 1 for k in ks], np.float64)
        central = dpc.mode == "central"
        local_dp = None if central else dp
        parts = [seen if k == client else update_of(k, local_dp)[1] for k in ks]
        if central:  # clip each update; one noise draw on the mean (std zC/m)
            parts = [_clip_all(p, dpc.clip) for p in parts]
        seen = [sum(w * p[i] for w, p in zip(ws, parts)) / ws.sum() for i in range(len(seen))]
        if central and dp is not None and dp.noise_std > 0:
            from fedsim.rng import generator

            g = generator(cfg.seed, "inversion", "dp", "central-sum", client)
            std = dp.noise_std / n
            seen = [s + g.normal(0.0, std, s.shape) for s in seen]
            noise_std = std
    seen32 = [np.asarray(s, np.float32) for s in seen]
    truth = inv.to_pixels(target.x, data.feature_mean, data.feature_std)
    if method == "analytic":
        try:
            res = inv.invert_analytic(seen32)
        except ValueError as exc:
            raise ConfigError("--method", method, f"an update it can invert ({exc})") from exc
        recon_x = np.asarray(res.x, np.float64)[None]
        labels = inv.recover_labels(seen32, batch, lr=lr, steps=steps)
    else:
        res = inv.invert_dlg(spec, w0, seen32, batch=batch, steps=steps, lr=lr,
                             iterations=iterations, restarts=restarts, seed=cfg.seed,
                             feature_mean=data.feature_mean, feature_std=data.feature_std,
                             image_shape=data.image_shape)
        recon_x, labels = res.x, res.labels
    recon = np.clip(inv.to_pixels(recon_x, data.feature_mean, data.feature_std), 0.0, 16.0)
    ev = inv.evaluate_reconstruction(recon, truth, image_shape=data.image_shape)
    order = ev["order"]
    base = inv.baselines(truth, feature_mean=data.feature_mean, seed=cfg.seed)
    return {
        "client": int(client), "method": method, "batch": int(batch), "steps": int(steps),
        "sees": "sum" if hides else "update",
        "psnr": ev["psnr"], "ssim": ev["ssim"], "mse": ev["mse"],
        "psnr_each": ev["psnr_each"], "ssim_each": ev["ssim_each"],
        "baseline_psnr": base,
        "labels": [int(v) for v in target.y], "recovered_labels": [int(v) for v in labels],
        "noise_std": float(noise_std), "clipped": bool(target.clipped),
        "update_norm": float(target.clean_norm),
        "image_shape": list(data.image_shape),
        "true": np.asarray(truth, np.float64).tolist(),
        "reconstruction": np.asarray(recon, np.float64)[order].tolist()
        if len(recon) == len(truth) else np.asarray(recon, np.float64).tolist(),
        "seconds": time.perf_counter() - t0,
    }


def _clip_all(parts: list[np.ndarray], clip: float) -> list[np.ndarray]:
    norm = float(np.sqrt(sum(float(np.sum(p * p)) for p in parts)))
    return parts if norm <= clip else [p * (clip / norm) for p in parts]
