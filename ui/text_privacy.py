"""English strings of the Privacy (DP) page (merged into ``ui.text.STRINGS``).

Keys start with ``priv.``; ``priv.ch.*`` are chart texts, ``priv.overlay.*`` are the DP
additions to the Training page, ``priv.warn.*`` the honest warnings. A widget's label key
``k`` always has ``k.help`` (its ⓘ tooltip).
"""

EN: dict[str, str] = {
    "nav.privacy": "Privacy (DP)",
    "priv.title": "Differential privacy you can see",
    "priv.intro": "Clip each update, add noise, count the privacy spent. Change a setting on the "
                  "left, step a few rounds, and watch what the noise costs. This page steps the "
                  "same run as the Training page.",
    "priv.settings": "Settings",

    # ------------------------------------------------------------------ controls
    "priv.mode": "Where the noise is added",
    "priv.mode.help": "off: no DP. central: clients clip their updates, the server adds noise "
                      "to the sum (DP-FedAvg; you trust the server). local: every client adds "
                      "its own noise before uploading (the server sees only noisy updates; "
                      "needs much more noise). DP-SGD: noise inside each client's training "
                      "steps, protecting single examples rather than whole clients.",
    "priv.mode.off": "off",
    "priv.mode.central": "central",
    "priv.mode.local": "local",
    "priv.mode.dpsgd": "DP-SGD",
    "priv.adaptive": "Adaptive clipping",
    "priv.adaptive.help": "Let the server tune the clip bound every round toward a quantile of "
                          "the update norms (Andrew et al. 2021) instead of guessing C. It "
                          "spends a little of the budget on a noisy count of how many updates "
                          "fit under the bound.",
    "priv.adaptive_limit": "Adaptive clipping needs z < {limit} here (expected clients per round "
                           "{m} ÷ 10).",
    "priv.adaptive_off": "Adaptive clipping works only with central DP, so it was turned off.",
    "priv.clip": "Clip bound C",
    "priv.clip.help": "Every update longer than C is scaled down to length C, so no client can "
                      "move the model by more than C. The noise is proportional to C: a small C "
                      "means less noise but more updates cut short.",
    "priv.clip0": "Starting clip bound C₀",
    "priv.clip0.help": "Adaptive clipping starts from this bound and moves it every round; "
                       "watch the dashed bar in the clipping chart.",
    "priv.quantile": "Target quantile γ",
    "priv.quantile.help": "The share of updates that should fit under the bound. 0.5: the bound "
                          "follows the median update norm.",
    "priv.noise_by": "Choose the noise by",
    "priv.noise_by.help": "Either set the noise directly, or say how much privacy the whole run "
                          "may spend and let the accountant find the smallest noise that meets "
                          "it.",
    "priv.noise_by.z": "noise multiplier z",
    "priv.noise_by.eps": "target ε",
    "priv.z": "Noise multiplier z",
    "priv.z.help": "Noise standard deviation ÷ clip bound C. Larger z: more noise, smaller ε, "
                   "usually lower accuracy. z = 0: no noise at all (ε = ∞).",
    "priv.eps": "Target ε for the whole run",
    "priv.eps.help": "The privacy budget for all configured rounds. The accountant picks the "
                     "smallest z whose ε after the last round is at most this. Each step "
                     "doubles the budget.",
    "priv.z_resolved": "→ noise multiplier **z = {z}**, the smallest that keeps ε ≤ {eps} after "
                       "{rounds} rounds.",
    "priv.delta": "δ (chance the promise fails)",
    "priv.delta.help": "The tiny probability with which the ε promise may not hold. Keep it "
                       "well below 1 ÷ (number of people in the data); 10⁻⁵ is common.",
    "priv.who": "Who takes part",
    "priv.clients": "Clients",
    "priv.clients.help": "How many clients exist. With central DP the noise is divided by the "
                         "expected number per round, so more clients means less noise on the "
                         "average.",
    "priv.rounds": "Rounds",
    "priv.rounds.help": "ε adds up over rounds: more rounds, more privacy spent.",
    "priv.frac": "Share of clients per round (q)",
    "priv.frac.help": "The chance that a client is picked in a round. With central DP a small "
                      "q amplifies privacy: the luck of the draw hides whether a client took "
                      "part at all.",
    "priv.poisson": "Central DP samples by **Poisson sampling**: each of the {n} clients joins a "
                    "round on its own with probability q = {q}, so a round has about {m} "
                    "clients (sometimes more, sometimes fewer, occasionally none). That "
                    "randomness is what the accountant counts on.",

    # ------------------------------------------------------------------ explanations
    "priv.mode_note.off": "**No differential privacy.** Updates reach the server exactly as "
                          "trained: no clipping, no noise, and no formal promise about what the "
                          "models reveal about anyone's data.",
    "priv.mode_note.central": "**Central DP (DP-FedAvg).** Each client clips its update to "
                              "length C; the server adds Gaussian noise (standard deviation "
                              "z·C) to the *sum* and divides by the expected number of clients "
                              "q·N. It protects each whole client against anyone who sees the "
                              "models, but the server itself sees the clipped updates: you "
                              "trust it to add the noise.",
    "priv.mode_note.local": "**Local DP.** Each client clips its update to C and adds its own "
                            "noise (standard deviation z·C) *before* uploading, so even the "
                            "server sees only noisy updates. The price: every update is noisy "
                            "on its own, and sampling gives no amplification (a client knows "
                            "when it sends). Accounted with *replace-one* neighbours: two "
                            "clipped updates can differ by up to 2C, so the accountant sees a "
                            "noise multiplier of z/2.",
    "priv.mode_note.dpsgd": "**DP-SGD (example-level).** Inside each client, every example's "
                            "gradient is clipped to C and noise z·C is added to each batch. "
                            "It protects single examples (rows of data), not whole clients. ε "
                            "is reported for the smallest client: each of its examples lands in "
                            "more batches, so it spends the most.",
    "priv.unit.off": "client",
    "priv.unit.central": "client",
    "priv.unit.local": "client",
    "priv.unit.dpsgd": "example",
    "priv.eps_meaning": "**What ε means.** Picture two worlds that differ in one {unit} only: in "
                        "one its data was used for training, in the other it was not. "
                        "Differential privacy promises that everything the training releases "
                        "(here: every global model) looks almost the same in both worlds. So an "
                        "attacker who sees all of it, and even knows everyone else's data, can "
                        "change their odds of guessing “was it used?” by at most a factor "
                        "$e^\\varepsilon$ (except with a tiny probability δ). Smaller ε, stronger "
                        "promise: ε = 1 allows 2.7× better odds; ε = 10 allows 22,026×, which "
                        "promises very little.",
    "priv.eps_now_means": "**This run:** ε = **{eps}** after all {rounds} rounds (δ = {delta}), "
                          "so an attacker's odds can shift by up to **{odds}×**.",
    "priv.off_info": "Choose **central**, **local** or **DP-SGD** on the left to add noise; the "
                     "charts appear then.",
    "priv.guess": "**Guess first**, then press Next round: how far will ε climb in one round? "
                  "Will accuracy with DP end up below the dashed no-DP curve?",

    # ------------------------------------------------------------------ metrics and buttons
    "priv.m.now": "ε spent so far",
    "priv.m.now.help": "Privacy spent after {done} of {total} rounds, as the engine's "
                       "accountant reports it: the tighter of its RDP and PLD bounds. It only "
                       "ever grows.",
    "priv.m.planned": "ε by round {rounds}",
    "priv.m.planned.help": "What the whole run will have spent by its last round: the "
                           "tighter of two valid bounds (here {by}). The dashed curve is the "
                           "RDP bound round by round.",
    "priv.m.pld": "Tighter ε (PLD)",
    "priv.m.pld.help": "The same run accounted with privacy loss distributions: a tighter "
                       "(smaller) but still valid bound after the last round. The app uses RDP "
                       "round by round because it is fast.",
    "priv.m.z": "Noise z",
    "priv.m.z.help": "Noise multiplier: noise standard deviation ÷ clip bound C.",
    "priv.m.z.help_eps": "Noise multiplier, found by the accountant: the smallest z that meets "
                         "your target ε.",
    "priv.m.q": "Sampling q",
    "priv.m.q.help": "Sampling rate: the chance that a client takes part in a round. q = 1: "
                     "everyone, every round, so no amplification by sampling.",
    "priv.m.part": "Max uploads",
    "priv.m.part.help": "How many rounds the busiest client has sent a noisy update in. "
                        "Local DP counts each client's own uploads (no amplification); the "
                        "ε shown is the busiest client's.",
    "priv.m.median": "ε (median client)",
    "priv.m.median.help": "The ε shown first is the worst client's (it has {n} examples: "
                          "not always the smallest client, because a client just above the "
                          "batch size takes two steps per epoch); a typical client spends "
                          "this.",
    "priv.cap.client_eps": "Every client's ε so far (RDP) against its number of examples. "
                           "The line is the headline ε: the worst client (client {worst}), "
                           "by the tighter bound ({by}).",
    "priv.ch.client_eps_title": "ε of each client (DP-SGD)",
    "priv.ch.client_eps_x": "examples on the client",
    "priv.ch.headline": "headline ε",
    "priv.next.help": "Run one whole round of the shared simulation (the one the Training page "
                      "shows).",
    "priv.to_end": "Run to end",
    "priv.to_end.help": "Run all the remaining rounds at once.",

    # ------------------------------------------------------------------ warnings
    "priv.warn.no_noise": "**No noise, no privacy.** With z = 0 nothing hides a client's "
                          "contribution: ε = ∞. Clipping alone limits how much one client can "
                          "move the model, but promises nothing about what the model reveals.",
    "priv.warn.no_sampling": "**Every client takes part in every round (q = 1), so there is no "
                             "amplification by sampling.** When a client may or may not be "
                             "picked, that chance hides whether it took part; here it always "
                             "does, so ε grows fast: ε = {eps} after {rounds} rounds. With many "
                             "clients, lower the share per round to make each round cheaper.",
    "priv.warn.few_clients": "**Few clients per round (about {m}).** Central DP divides the "
                             "noise by the expected number of clients per round, so with fewer "
                             "than {min} the noise swamps the average and accuracy suffers. "
                             "Real deployments average hundreds or thousands of clients.",
    "priv.warn.dpsgd_full_batch": "**The batch is as large as the smallest client's data**, so "
                                  "every example is in every step: no amplification by "
                                  "sampling, and ε grows fast. Use a smaller batch size "
                                  "(Training settings).",
    "priv.warn.weak": "**Weak guarantee: ε = {eps} is above {limit}.** An attacker's odds could "
                      "change by up to {odds}×, so this promises little. More noise (larger z), "
                      "fewer rounds or a smaller share of clients per round lower ε.",

    # ------------------------------------------------------------------ chart captions
    "priv.cap.eps": "Purple = privacy spent. Dashed: the plan for every round; solid: the rounds "
                    "run so far (the engine's accountant). ε only grows: every released model "
                    "costs a little. ◆ is a tighter accounting of the last round.",
    "priv.cap.clip": "Each dot is one client's update before clipping, in its colour; the dashed "
                     "bar is the clip bound C. ▼ = longer than C, so it was scaled down to C "
                     "(k/n along the top counts them). Clip too low and most updates are cut "
                     "short; too high and the noise, proportional to C, is needlessly large.",
    "priv.cap.clip_adaptive": "Each dot is one client's update before clipping, in its colour; "
                              "the dashed bar is that round's clip bound. ▼ = clipped (k/n "
                              "along the top counts them). With adaptive clipping the bound "
                              "moves every round toward the target quantile of the norms.",
    "priv.cap.noise.central": "Black: length of the average clipped update (the useful signal). "
                              "Orange: length of the noise the server added to that average. "
                              "With few clients per round the noise dwarfs the signal; it "
                              "averages out only over many clients and rounds.",
    "priv.cap.noise.local": "Black: a client's clipped update (mean length). Orange: the noise "
                            "each client added to its own update (mean length). The noise is "
                            "spread over every weight, so it dwarfs the update; only averaging "
                            "many clients shrinks it.",
    "priv.cap.utility": "Same data, same seed, same settings: black with DP (the rounds run so "
                        "far), dashed grey without DP (the whole run). The gap is the price of "
                        "privacy.",
    "priv.dpsgd_no_clip": "DP-SGD clips every *example's gradient* inside the client, so there "
                          "are no per-client update norms to compare with a bound here.",
    "priv.dpsgd_no_noise_chart": "In DP-SGD the noise is added inside each client's training "
                                 "steps, so the server never sees it apart from the update.",
    "priv.running_plain": "Running the same setup without DP…",
    "priv.plain_run": "Run it without DP",
    "priv.plain_run.help": "Run the same setup, same seed, with DP off, to draw the dashed "
                           "comparison curve. Cryptography is on, so this can take a while.",
    "priv.slow_crypto": "Secure aggregation, encryption or proofs are on, so each run is slow.",

    # ------------------------------------------------------------------ sweep
    "priv.sweep_title": "What privacy costs",
    "priv.sweep_intro": "**The privacy–utility trade-off.** Run this setup ({mode}, {rounds} "
                        "rounds, same seed) once for each noise multiplier z = {zs}, and plot "
                        "the final test score against ε. **Guess first:** which z ends with the "
                        "best score, and what does it cost in ε?",
    "priv.sweep_run": "Run the sweep",
    "priv.sweep_run.help": "Five whole runs with the engine. Finished runs are remembered, so "
                           "pressing again is instant.",
    "priv.sweep_progress": "Running z = {z} ({i}/{n})…",
    "priv.sweep_failed": "z = {z} could not run: {error}",
    "priv.sweep_empty": "Press “Run the sweep” to see the trade-off.",
    "priv.sweep_stale": "This sweep was run for an earlier setup; run it again to update it.",
    "priv.cap.sweep": "Each point is one whole run: further left = more private (smaller ε), "
                      "higher = more accurate. More noise moves a point left and usually down. "
                      "Dashed grey: the same run without DP; ★: your run above, once it has "
                      "finished.",

    # ------------------------------------------------------------------ charts
    "priv.ch.eps_title": "Privacy spent ε, round by round",
    "priv.ch.planned": "planned (all rounds)",
    "priv.ch.spent": "spent (rounds run)",
    "priv.ch.pld": "tighter (PLD), last round",
    "priv.ch.target": "target ε = {eps}",
    "priv.ch.weak_zone": "weak promise (ε > {limit})",
    "priv.ch.eps_infinite": "ε = ∞: no noise, no privacy",
    "priv.ch.eps_axis": "ε (privacy spent)",
    "priv.ch.clip_hover": "clip bound C = {clip}: {k} of {n} clipped",
    "priv.ch.clip_bound": "clip bound C",
    "priv.ch.clip_title": "Update size vs clip bound · round {round}: {k} of {n} clipped",
    "priv.ch.clip_title0": "Update size vs clip bound",
    "priv.ch.clipped_yes": "clipped to C",
    "priv.ch.clipped_no": "kept as is",
    "priv.ch.clipped_marker": "clipped (scaled down to C)",
    "priv.ch.norm_axis": "‖Δ‖ before clipping",
    "priv.ch.sn_title.central": "Signal vs noise in the server's average",
    "priv.ch.sn_title.local": "Signal vs noise in each client's upload",
    "priv.ch.signal.central": "signal: ‖average clipped update‖",
    "priv.ch.noise.central": "noise: ‖noise added to the average‖",
    "priv.ch.signal.local": "clipped update ‖Δ‖ (mean)",
    "priv.ch.noise.local": "noise a client added (mean ‖·‖)",
    "priv.ch.ratio": "(%{customdata}× the signal)",
    "priv.ch.l2": "length (L2 norm)",
    "priv.ch.ww_title": "Test {metric} with and without DP",
    "priv.ch.no_dp": "without DP",
    "priv.ch.with_dp": "with DP (this run)",
    "priv.ch.sweep_title": "Final test {metric} vs ε",
    "priv.ch.sweep_points": "one whole run per z",
    "priv.ch.here": "your run (ε = {eps})",
    "priv.ch.sweep_x": "ε after all rounds (log scale)",

    # ------------------------------------------------------------------ Training page overlay
    "priv.overlay.eps": "Privacy ε",
    "priv.overlay.eps.help": "Privacy spent: ε after the rounds run so far (differential-"
                             "privacy accountant); it only grows. The Privacy page explains "
                             "what it means.",
    "priv.overlay.clip_caption": "Dashed: the DP clip bound C; updates above it were scaled "
                                 "down to C before leaving the client.",
    "priv.overlay.aborted": "**Round {round} was abandoned:** {why}. Secure aggregation lost "
                            "too many clients to unmask the sum, so the global model was left "
                            "unchanged this round.",
}
