"""Attacks on federated learning, to show what the defences are for.

- :mod:`fedsim.attacks.inversion`: gradient inversion by an honest-but-curious server
  (analytic first-layer inversion; DLG/iDLG and Geiping et al.'s cosine + TV inversion).
"""

from .inversion import (AnalyticInversion, ClientUpdate, DLGResult, DPNoise, baselines,
                        client_update, evaluate_reconstruction, invert_analytic, invert_dlg,
                        match_reconstructions, mse, psnr, random_guess, recover_labels,
                        select_examples, ssim, to_features, to_pixels)

__all__ = ["AnalyticInversion", "ClientUpdate", "DLGResult", "DPNoise", "baselines",
           "client_update", "evaluate_reconstruction", "invert_analytic", "invert_dlg",
           "match_reconstructions", "mse", "psnr", "random_guess", "recover_labels",
           "select_examples", "ssim", "to_features", "to_pixels"]
