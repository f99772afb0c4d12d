"""English strings of the Attacks & defences page (merged into ``ui.text.STRINGS``).

Keys start with ``atk.``; a widget's label key ``k`` always has ``k.help``.
"""

EN: dict[str, str] = {
    "nav.attacks": "Attacks & defences",
    "atk.title": "Attacks that make the defences matter",
    "atk.intro": "A malicious client poisons the model; a curious server rebuilds a client's "
                 "digit from its update. Every number below comes from real runs of the engine.",
    # ---- integrity
    "atk.integrity": "Poisoning and backdoors",
    "atk.attack": "Attack",
    "atk.attack.help": "What client 3 does. backdoor: stamps a 2×2 corner trigger on half its "
                       "digits, labels them 0 and boosts its update ×10 (Bagdasaryan et al. "
                       "2020). label flip: trains with every 7 labelled 1. scale: sends 10× its "
                       "update. sign flip: sends minus its update.",
    "atk.defence": "Defence",
    "atk.defence.help": "none: plain FedAvg. norm bound: the server clips every update to L2 "
                        "norm 0.5 (Sun et al. 2019). median / trimmed mean / Krum: robust "
                        "aggregators. L2 proof: each client proves in zero knowledge that its "
                        "last-layer update has norm ≤ 0.1 (RoFL), so it works even when secure "
                        "aggregation hides the updates.",
    "atk.rounds": "Rounds",
    "atk.rounds.help": "How many rounds the matrix runs for each cell.",
    "atk.next": "Next round",
    "atk.next.help": "Run one more round of this attack against this defence (a real run of "
                     "the engine, separate from the Training page's).",
    "atk.reset.help": "Back to round 0 of this attack run.",
    "atk.reset": "Reset",
    "atk.round_now": "Round {round}: clean accuracy {acc:.1%}, attack success {asr}; rejected: "
                     "{rejected}.",
    "atk.none_yet": "Press **Next round** to train.",
    "atk.curves_caption": "Clean test accuracy (black) and attack success (red): the share of "
                          "triggered digits (backdoor) or of 7s (label flip) the global model "
                          "sends to the attacker's label. Malicious rounds are marked ✕. "
                          "Notice how a defence keeps the red line low while the black one "
                          "still rises.",
    "atk.matrix": "Attack × defence",
    "atk.matrix.run": "Compute the matrix",
    "atk.matrix.run.help": "Runs every attack against every defence for the chosen rounds "
                           "(cached: a second click is instant).",
    "atk.matrix.caption": "Each cell: final clean accuracy / attack success (untargeted "
                          "attacks have none: read their accuracy).",
    "atk.matrix.progress": "Running {done}/{total}…",
    # ---- inversion
    "atk.inversion": "The server rebuilds a client's digit",
    "atk.batch": "Batch size",
    "atk.batch.help": "How many digits the client trains on before sending its update: "
                      "the more, the more mixed the reconstruction.",
    "atk.steps": "Local steps",
    "atk.steps.help": "SGD steps before sending (1 is FedSGD; more steps blur the gradient).",
    "atk.noise": "DP noise multiplier",
    "atk.noise.help": "Local DP: the client clips its update to norm 0.5 and adds Gaussian "
                      "noise of std z × 0.5 before sending.",
    "atk.secagg": "SecAgg (sum only)",
    "atk.secagg.help": "The server only learns the mean of all 10 clients' updates and "
                       "inverts that.",
    "atk.method": "Attack method",
    "atk.method.help": "analytic: x = ∂L/∂W₁ / ∂L/∂b₁ (exact for one digit). DLG: optimize a "
                       "dummy digit until its update matches (slower, works for batches).",
    "atk.true": "The client's digit",
    "atk.recon": "The server's reconstruction",
    "atk.quality": "PSNR {psnr:.1f} dB (the mean-digit guess: {base:.1f} dB), SSIM {ssim:.3f}; "
                   "the server saw the {sees}.",
    "atk.inv_caption": "Left: what the client trained on. Right: what the server rebuilt from "
                       "the update it received. Above the mean-digit guess, the update leaked "
                       "the digit.",
    "atk.eps.run": "Compute the ε curve",
    "atk.eps.run.help": "Inverts the update under several noise levels and plots quality "
                        "against the ε of that single release.",
    "atk.eps.caption": "Reconstruction quality (PSNR) against ε: small ε (lots of noise) "
                       "leaves the server below the mean-digit guess (dashed).",
    "atk.ch.round": "round",
    "atk.ch.share": "share of test inputs",
    "atk.ch.acc": "clean accuracy",
    "atk.ch.asr": "attack success",
    "atk.ch.attack": "malicious round",
    "atk.ch.eps": "ε (one release, δ = 1e-5)",
    "atk.ch.psnr": "PSNR (dB)",
    "atk.ch.guess": "mean-digit guess",
}
