"""Every user-facing string of the app, in one place, so a translation can follow.

``t("key", **values)`` looks a string up in the active language and fills ``{placeholders}``.
Only English exists today; a Chinese table would be ``STRINGS["zh"] = {...}`` with the same keys
(missing keys fall back to English, so a partial translation already works). Keys are grouped
by page with a dotted prefix. Chart titles and axis labels live here too.
"""

from __future__ import annotations

LANG = "en"

STRINGS: dict[str, dict[str, str]] = {"en": {
    # ------------------------------------------------------------------ app frame / sidebar
    "app.name": "fedsim",
    "app.tagline": "Federated learning you can step through",
    "app.page_title": "fedsim: federated learning, step by step",
    "app.loading": "Loading fedsim… The first visit after the server starts also loads "
                   "TensorFlow, which takes a few seconds; the page appears as soon as it can.",
    "nav.overview": "Overview",
    "nav.data": "Data & clients",
    "nav.training": "Training",
    "nav.compare": "Compare",
    "side.scenario": "Scenario: **{name}**",
    "side.custom": "custom",
    "side.seed": "Seed",
    "side.seed.help": "Every random choice (data split, initial model, who is sampled, batches) "
                      "comes from this number. Same seed + same settings = same run, on every "
                      "computer.",
    "side.reseed": "New seed",
    "side.reseed.help": "Pick a random seed: same settings, different luck.",
    "side.share": "Share this setup",
    "side.share.help": "Copy this link: opening it reproduces the same configuration and seed "
                       "(it holds only the settings that differ from the defaults).",
    "side.share.caption": "Copy with the icon on the right. The link starts a fresh run.",
    "side.files": "Files",
    "side.download_config": "Configuration (JSON)",
    "side.download_config.help": "The whole configuration, in the same JSON format the command "
                                 "line uses (`fedsim run --config file.json`).",
    "side.download_results": "Results (CSV)",
    "side.download_results.help": "One row per round × client: status, losses, validation "
                                  "accuracy, update norm, bytes. Open it in a spreadsheet.",
    "side.upload": "Load a configuration",
    "side.upload.help": "A JSON file saved from here or written by hand. A bad file is rejected "
                        "and nothing changes.",
    "side.upload.ok": "Loaded the configuration from {name}.",
    "side.upload.bad": "Could not load {name}: {error}. Nothing was changed.",
    "side.no_results": "No rounds yet: run some on the Training page first.",

    # ------------------------------------------------------------------ state messages
    "state.reset": "Settings changed, so the run was reset to round 0.",
    "state.bad_setting": "That setting was not applied: {error}",
    "state.bad_link": "Ignored part of the link: {error}",
    "state.link_capped": "The link asks for more than this server allows, so that setting was "
                         "set back to its default: {error}",
    "state.diverged": "Training diverged in round {round} (phase *{phase}*): {what} became "
                      "infinite or NaN, so the round was undone and playing stopped. The model "
                      "is still the one after round {last}. Lower the learning rate or the "
                      "server learning rate in *Training settings*, or reset.",
    "state.diverged_reset": "Reset to round 0",
    "state.diverged_reset.help": "Start this configuration again from its initial model.",
    "state.unknown_link_key": "Ignored unknown link parameter '{key}'.",
    "state.engine_error": "The simulation stopped: {error}",
    "state.build_error": "This configuration cannot run: {error}",
    "state.missing_module": "This scenario needs a part of fedsim that is not available yet "
                            "({error}). Pick another one.",
    "state.preset_loaded": "Loaded “{title}”. Look at its data on *Data & clients*, then "
                           "train it on *Training*.",
    "state.preset_failed": "Could not load “{title}”: {error}",
    "state.model_auto": "The model was set back to 'auto' because '{model}' does not fit the "
                        "{dataset} data set.",

    # ------------------------------------------------------------------ overview page
    "ov.title": "Federated learning, step by step",
    "ov.intro": (
        "Your phone suggests the next word; a hospital wants a model that spots a disease. The "
        "data that would teach such a model is private and scattered across many devices or "
        "sites. **Federated learning** trains one shared model *without collecting the data*: "
        "the model travels to the data, learns a little there, and only the model changes "
        "travel back."),
    "ov.steps_title": "One round, in six steps (eight boxes in the app)",
    "ov.steps": (
        "1. **Initialize the model.** The server creates a global model (here a small Keras "
        "network).\n"
        "2. **Localize the data.** Each client keeps its own examples. The server keeps only a "
        "test set to check progress.\n"
        "3. **Local training.** The server sends the current model to some clients; each "
        "trains it for a few epochs on its own data.\n"
        "4. **Aggregate.** Clients send back their *updates* (new weights minus old weights). "
        "The server averages them, either simply or weighted by how many examples each "
        "client has (FedAvg).\n"
        "5. **Update the global model** with that average.\n"
        "6. **Evaluate** the new global model on the test set, and start the next round."),
    "ov.cycle_title": "The round cycle you will step through",
    "ov.cycle_caption": "Each box is one click of “Next phase” on the Training page. The data "
                        "never leaves the clients: only model weights and updates move.",
    "ov.watch_title": "Things to watch for",
    "ov.watch": (
        "- When clients hold **different kinds of data** (non-IID), their local models pull "
        "in different directions and the global model learns more slowly.\n"
        "- The server **never sees the data, but it does see every update**, and updates can "
        "leak information. Privacy tools (differential privacy, secure aggregation) change "
        "what the server sees.\n"
        "- Clients **drop out**: the round has to work with whoever answers."),
    "ov.presets_title": "Start from a scenario",
    "ov.presets_caption": "One click loads a whole configuration (your seed is kept). Then open "
                          "Data & clients or Training.",
    "ov.load": "Load",
    "ov.load.help": "Replace the current configuration with this scenario and reset the run.",
    "ov.current": "current",

    # ------------------------------------------------------------------ data page
    "data.title": "Data & clients",
    "data.intro": "Who holds which examples? Change the split and watch the pictures on the "
                  "right. Nothing is trained on this page.",
    "data.controls": "Settings",
    "data.dataset": "Data set",
    "data.dataset.help": "digits: 8×8 handwritten digits (10 classes). 2d: points on a plane "
                         "(2 classes), so decision boundaries can be drawn. breast_cancer: a "
                         "30-column medical table. seed_regression: the article's 100-feature "
                         "regression example.",
    "data.dataset.digits": "digits (8×8 images)",
    "data.dataset.2d": "2d (points on a plane)",
    "data.dataset.breast_cancer": "breast cancer (table)",
    "data.dataset.seed_regression": "seed regression (article)",
    "data.dataset.csv": "your CSV file",
    "data.csv_expander": "Bring your own data (CSV)",
    "data.shape": "2-D shape",
    "data.shape.help": "The pattern the two classes form on the plane.",
    "data.samples": "Points generated",
    "data.samples.help": "How many examples the generated data set has (before the test set "
                         "is held out).",
    "data.noise": "Noise",
    "data.noise.help": "How much the generated points are blurred; more noise, harder task.",
    "data.clients": "Number of clients",
    "data.clients.help": "How many devices or sites hold a part of the training data.",
    "data.split": "How the data is split",
    "data.split.help": "iid: random equal parts. dirichlet: label skew controlled by alpha. "
                       "pathological: each client gets only a few classes. shards: sorted "
                       "shards dealt out (McMahan et al.). quantity: same labels, unequal "
                       "sizes. feature: same labels, each client's inputs shifted and noised.",
    "data.split.iid": "iid (random)",
    "data.split.dirichlet": "dirichlet (label skew)",
    "data.split.pathological": "pathological (few classes each)",
    "data.split.shards": "shards (sorted, dealt)",
    "data.split.quantity": "quantity (unequal sizes)",
    "data.split.feature": "feature (shifted inputs)",
    "data.split.natural": "natural (one client per value of a column)",
    "data.alpha": "Label skew α (alpha)",
    "data.alpha.help": "Dirichlet concentration. Small α (0.01–0.1): each client sees one or "
                       "two labels. Large α (10–100): every client looks like the whole data "
                       "set.",
    "data.classes": "Classes per client",
    "data.classes.help": "Each client holds exactly this many labels.",
    "data.shards": "Shards per client",
    "data.shards.help": "The label-sorted data is cut into clients × shards pieces; each "
                        "client gets this many.",
    "data.sigma": "Size spread σ",
    "data.sigma.help": "Client sizes follow a lognormal with this spread: 0 = equal sizes, "
                       "2 = a few huge clients and many tiny ones.",
    "data.fshift": "Feature shift",
    "data.fshift.help": "How far each client's inputs are moved (in standard deviations).",
    "data.fnoise": "Feature noise",
    "data.fnoise.help": "Extra noise on inputs, growing from client 0 (clean) to the last "
                        "client.",
    "data.fraction": "Clients sampled per round",
    "data.fraction.help": "The fraction of clients the server asks to train in each round.",
    "data.dropout": "Dropout probability",
    "data.dropout.help": "Chance that a sampled client trains but never returns its update "
                         "(battery died, network lost).",
    "data.val": "Local validation split",
    "data.val.help": "The fraction of each client's examples it keeps aside to check its own "
                     "local model. The server never sees these.",
    "data.skew": "Label skew score",
    "data.skew.help": "Mean total-variation distance between clients' label mixes: 0 = every "
                      "client has the same mix (IID), 1 = no two clients share a label.",
    "data.total": "Training examples",
    "data.total.help": "Examples spread over all clients (the server's test set is not "
                       "included).",
    "data.test": "Server test set",
    "data.test.help": "Held out by the server to measure the global model; no client has these.",
    "data.labels_title": "Labels per client",
    "data.unused_labels": "Left out: {n} label(s) ({labels}). Each client holds exactly the "
                          "classes it was asked for, and there are fewer client slots than "
                          "labels, so nobody holds these (what flwr-datasets does). Add clients "
                          "or classes per client to use them.",
    "data.labels_caption": "Each bar is one client; colours are labels. With small α the bars "
                           "turn into one or two colours: clients disagree about what the data "
                           "looks like.",
    "data.sizes_title": "Examples per client",
    "data.sizes_caption": "Solid: used for local training; hatched: kept for local validation. "
                          "Weighted FedAvg listens more to the big clients.",
    "data.digits_title": "A few examples from each client",
    "data.digits_caption": "What each client's data looks like (a few of its training "
                           "examples, picked at random). With label skew, rows repeat the same "
                           "digit.",
    "data.digits_clients": "Clients to show",
    "data.digits_clients.help": "Pick which clients' examples to draw.",
    "data.points_title": "Each client's points",
    "data.points_caption": "Colour = client, symbol = class (● class 0, ✕ class 1). With label "
                           "skew a client holds mostly one class, on one side of the plane.",
    "data.no_picture": "This data set is a table of numbers, so there is no picture of the "
                       "examples; the label bars above tell the story.",
    "data.regression_bins": "For regression, “labels” are the target cut into {bins} "
                            "equal-count bins.",

    # ------------------------------------------------------------------ training page
    "tr.reset": "Reset",
    "tr.reset.help": "Back to round 0 with the same initial model (same seed).",
    "tr.phase": "Next phase",
    "tr.phase.help": "Run one phase of the round (select, broadcast, train, …) and see what "
                     "happened.",
    "tr.round": "Next round",
    "tr.round.help": "Finish the current round (or run a whole new one).",
    "tr.play": "Play",
    "tr.play.help": "Run one round after another until the last round.",
    "tr.pause": "Pause",
    "tr.pause.help": "Stop after the current round.",
    "tr.speed": "Speed",
    "tr.speed.help": "Time between rounds while playing.",
    "tr.speed.slow": "slow",
    "tr.speed.normal": "normal",
    "tr.speed.fast": "fast",
    "tr.counter": "Round {round}/{total}",
    "tr.counter.help": "rounds finished / rounds planned",
    "tr.in_round": "Round {round} in progress · next: **{phase}**",
    "tr.finished": "All {total} rounds done. Reset, or add rounds in the settings.",
    "tr.settings": ":material/tune: Training settings (changing them resets the run)",
    "tr.rounds": "Rounds",
    "tr.rounds.help": "How many rounds to run. Changing it keeps the rounds already done.",
    "tr.epochs": "Local epochs",
    "tr.epochs.help": "How many passes each client makes over its own data per round. More "
                      "epochs = more local progress, but also more drift on skewed data.",
    "tr.batch": "Batch size",
    "tr.batch.help": "Examples per local gradient step.",
    "tr.lr": "Learning rate",
    "tr.lr.help": "Step size of the clients' optimizer.",
    "tr.opt": "Client optimizer",
    "tr.opt.help": "sgd: plain gradient steps. momentum: SGD with momentum. adam: adaptive "
                   "steps.",
    "tr.mu": "FedProx μ",
    "tr.mu.help": "FedProx adds μ/2·‖w − w_global‖² to each client's loss, pulling local "
                  "models toward the global one. 0 = plain FedAvg.",
    "tr.agg": "Aggregator",
    "tr.agg.help": "How the server combines updates. fedavg: (weighted) mean. median, "
                   "trimmed_mean, krum: robust to a few bad updates, at some cost in accuracy.",
    "tr.weighted": "Weight by client size",
    "tr.weighted.help": "On: FedAvg weights each update by the client's number of examples "
                        "(n_k/n). Off: every client counts the same (simple average).",
    "tr.trim": "Trimmed fraction",
    "tr.trim.help": "Share of the largest and of the smallest values dropped per coordinate "
                    "before averaging.",
    "tr.krum_f": "Byzantine clients Krum tolerates",
    "tr.krum_f.help": "Krum scores each update by its distance to its n − f − 2 nearest "
                      "neighbours, f being this number, and keeps the best-scored one.",
    "tr.sopt": "Server optimizer",
    "tr.sopt.help": "How the averaged update is applied. sgd with server lr 1 is plain FedAvg; "
                    "fedavgm adds momentum; fedadam/fedyogi/fedadagrad are adaptive "
                    "(Reddi et al. 2021).",
    "tr.slr": "Server learning rate",
    "tr.slr.help": "Scale of the server's step. 1.0 with sgd = take the average as is.",
    "tr.model": "Model",
    "tr.model.help": "auto: the data set's default. logistic: one linear layer. mlp: one "
                     "hidden layer. cnn: a small convolutional net (digits only).",
    "tr.no_sim": "Fix the configuration to train.",
    "tr.building": "Preparing the model (the first time takes a few seconds)…",
    "tr.cycle_center": "round {round}",
    "tr.cycle_caption": "Hover a box for what happens there. Next phase runs the lit box.",
    "tr.now": "**Next: {phase}.** {what}",
    "tr.server_sees": ":material/visibility: **The server can see:** {sees}",
    "tr.last_phase": "Just done: {summary}",
    "tr.metric.accuracy": "Test accuracy",
    "tr.metric.accuracy.help": "The global model on the server's held-out test set.",
    "tr.metric.mse": "Test MSE",
    "tr.metric.mse.help": "Mean squared error of the global model on the server's test set "
                          "(lower is better; 1.0 = predicting the mean).",
    "tr.metric.loss": "Test loss",
    "tr.metric.loss.help": "The training objective, measured on the server's test set.",
    "tr.metric.clients": "Updates used",
    "tr.metric.clients.help": "Updates the server aggregated, out of the clients it sampled "
                              "this round.",
    "tr.metric.dropped": "{n} dropped",
    "tr.metric.rejected": "{n} rejected",
    "tr.metric.up": "Uploaded",
    "tr.metric.up.help": "Bytes the clients sent to the server this round.",
    "tr.metric.down": "Downloaded",
    "tr.metric.down.help": "Bytes the server sent to the sampled clients (the global model).",
    "tr.tab.global": "Global model",
    "tr.tab.clients": "Clients",
    "tr.tab.updates": "Updates",
    "tr.tab.participation": "Participation",
    "tr.tab.boundary": "Decision boundary",
    "tr.base.central": "Centralized baseline",
    "tr.base.central.help": "All clients' data pooled in one place and trained the same way: "
                            "what FL tries to match without moving the data.",
    "tr.base.local": "Local-only baseline",
    "tr.base.local.help": "Each client trains alone and never shares: the mean test score of "
                          "those isolated models (band: worst to best client).",
    "tr.base.computing": "Computing the baselines…",
    "tr.global_caption": "Black: the global model after each round (round 0 = before any "
                         "training). Switch on the grey baselines: FL should land between "
                         "local-only and centralized.",
    "tr.loss_caption": "The same model's loss on the test set; it should fall round by round.",
    "tr.clients_loss_caption": "Each client's training loss over its local epochs. On skewed "
                               "data local losses fall fast even when the global model "
                               "stalls: clients fit their own data.",
    "tr.clients_val_caption": "Each client's local model on its own validation rows, with the "
                              "global model's test score in black. High local, lower global "
                              "= clients drifting apart.",
    "tr.norm_caption": "How far each client moved the model (‖local − global‖). Outliers "
                       "stand out here; open circles = dropped, ✕ = rejected.",
    "tr.participation_caption": "Who did what in each round. Dropped clients trained but their "
                                "update never arrived.",
    "tr.boundary_pick": "Clients to compare",
    "tr.boundary_pick.help": "Local models (after their training in the last round) shown "
                             "beside the global model.",
    "tr.boundary_caption": "Shading = predicted class; the line is where the model is 50/50. "
                           "Global panel: the server's test points. Client panels: that "
                           "client's own training points, which its local model fits; the "
                           "global model is the compromise.",
    "tr.boundary_none": "Run a round to see the clients' local models.",
    "tr.boundary_global": "Global model (round {round})",
    "tr.boundary_client": "Client {id} (local)",
    "tr.no_rounds": "No rounds yet: press Next round or Play.",

    # phases: what happens / what the server can see (the sentence under the cycle diagram)
    "phase.select": "select",
    "phase.broadcast": "broadcast",
    "phase.train": "train",
    "phase.protect": "protect",
    "phase.upload": "upload",
    "phase.aggregate": "aggregate",
    "phase.update": "update",
    "phase.evaluate": "evaluate",
    "phase.select.what": "The server picks which clients take part in this round.",
    "phase.select.sees": "the list of clients it picked. No data yet.",
    "phase.broadcast.what": "The server sends the current global model to every picked client.",
    "phase.broadcast.sees": "its own global model, nothing new.",
    "phase.train.what": "Each picked client trains the model on its own data for a few "
                        "local epochs.",
    "phase.train.sees": "nothing: training happens on the clients, the data stays there.",
    "phase.protect.what": "Clients prepare their update (new weights − old weights) for "
                          "sending.",
    "phase.protect.what_dp": "Clients clip their update and (for local DP) add noise before "
                             "it leaves the device.",
    "phase.protect.what_hidden": "Clients hide their update ({how}) so only the sum can be "
                                 "recovered.",
    "phase.protect.sees": "nothing yet: this happens on the clients.",
    "phase.upload.what": "Clients send their updates; dropped clients never arrive.",
    "phase.upload.sees": "every arriving client's update, in the clear, and who dropped out.",
    "phase.upload.sees_hidden": "only {how} updates: random-looking numbers, and who dropped "
                                "out.",
    "phase.upload.sees_dp": "each arriving update, clipped (and noised for local DP).",
    "phase.aggregate.what": "The server combines the updates with {agg}.",
    "phase.aggregate.sees": "each individual update and their combination.",
    "phase.aggregate.sees_hidden": "only the sum of the updates, never a single one.",
    "phase.update.what": "The server applies the combined update to the global model.",
    "phase.update.what_dp": "The server adds calibrated noise to the average, then applies it.",
    "phase.update.sees": "the new global model.",
    "phase.evaluate.what": "The server scores the new global model on its test set.",
    "phase.evaluate.sees": "the global model's test accuracy and loss.",
    "agg.fedavg_weighted": "a weighted average (FedAvg, weights n_k/n)",
    "agg.fedavg_simple": "a simple average",
    "agg.median": "a coordinate-wise median",
    "agg.trimmed_mean": "a trimmed mean (dropping the most extreme values)",
    "agg.krum": "Krum (keeping the update closest to the others)",
    "hide.secagg": "masked",
    "hide.paillier": "Paillier-encrypted",
    "hide.ckks": "CKKS-encrypted",
    # one-line summaries of a finished phase (PhaseRecord → text)
    "sum.select": "the server picked {n} client(s): {ids}.",
    "sum.select_drop": "the server picked {n} client(s): {ids}. {k} of them will drop out.",
    "sum.broadcast": "sent the model ({params} weights, {size} each) to {n} client(s).",
    "sum.train": "{n} client(s) trained; mean training loss {loss:.3f}.",
    "sum.protect": "updates prepared ({mech}).",
    "sum.protect_none": "no protection configured",
    "sum.upload": "{n} update(s) arrived ({size}); dropped: {dropped}.",
    "sum.aggregate": "combined {n} update(s).",
    "sum.update": "moved the global model by {norm:.3f} (L2 norm of the step).",
    "sum.evaluate": "test {metric} {value:.3f}, loss {loss:.3f}.",
    "none": "none",

    # ------------------------------------------------------------------ compare page
    "cmp.title": "Compare",
    "cmp.intro": "Vary one knob, keep everything else (including the seed) the same, and run "
                 "each variant to the end. The rest of the configuration comes from the "
                 "current setup.",
    "cmp.knob": "What to vary",
    "cmp.knob.help": "Each variant copies the current configuration and changes only this.",
    "cmp.knob.alpha": "Label skew α (100, 1, 0.1)",
    "cmp.knob.algorithm": "Algorithm (FedAvg, FedProx, FedAdam)",
    "cmp.knob.weighting": "Weighted vs simple average",
    "cmp.knob.epochs": "Local epochs (1, 3, 5)",
    "cmp.knob.clients": "Number of clients (5, 10, 20)",
    "cmp.values": "Variants",
    "cmp.values.help": "Untick a variant to skip it.",
    "cmp.rounds": "Rounds per variant",
    "cmp.rounds.help": "Each variant runs this many rounds (the same for all).",
    "cmp.run": "Run the comparison",
    "cmp.run.help": "Run every variant with the same seed. Finished variants are remembered, "
                    "so running again is instant.",
    "cmp.progress": "Running {label} ({i}/{n})…",
    "cmp.done": "Done: {n} variant(s).",
    "cmp.failed": "Variant {label} could not run: {error}",
    "cmp.curves_title": "Global test {metric} per round",
    "cmp.curves_caption": "Same seed, one knob changed. Look at where the curves end and how "
                          "fast they climb. Skew hurts more with several local epochs (set "
                          "them under Training settings, or load the “Label skew” scenario).",
    "cmp.labels_title": "How each variant splits the data",
    "cmp.labels_caption": "The label mix per client for each variant: the cause behind the "
                          "curves above.",
    "cmp.overlay": "Overlay a saved run (run JSON)",
    "cmp.overlay.help": "The file `python -m fedsim run --out run.json` writes, or "
                        "`python -m fedsim flower run --out run.json` (the same experiment on "
                        "Flower): its test curve is drawn beside the variants.",
    "cmp.overlay_bad": "Could not overlay {name}: {error}. Nothing was changed.",
    "cmp.empty": "Pick a knob and press Run.",
    "cmp.stale": "These results were computed for an earlier configuration; run again to "
                 "update them.",
    "cmp.var.alpha": "α = {v}",
    "cmp.var.fedavg": "FedAvg",
    "cmp.var.fedprox": "FedProx (μ = 0.1)",
    "cmp.var.fedadam": "FedAdam (server lr 0.03)",
    "cmp.var.weighted": "weighted (n_k/n)",
    "cmp.var.simple": "simple (1/K)",
    "cmp.var.epochs": "{v} local epoch(s)",
    "cmp.var.clients": "{v} clients",

    # ------------------------------------------------------------------ charts
    "ch.round": "round",
    "ch.client": "client",
    "ch.count": "examples",
    "ch.accuracy": "accuracy",
    "ch.mse": "MSE",
    "ch.loss": "loss",
    "ch.global": "global model",
    "ch.centralized": "centralized",
    "ch.local_only": "local-only (mean)",
    "ch.local_range": "local-only (worst–best)",
    "ch.train_loss": "training loss",
    "ch.val_metric": "local validation {metric}",
    "ch.update_norm": "update norm ‖Δ‖",
    "ch.status.not_sampled": "not sampled",
    "ch.status.trained": "update used",
    "ch.status.dropped": "dropped",
    "ch.status.rejected": "rejected",
    "ch.label": "label",
    "ch.train": "training",
    "ch.val": "validation",
    "ch.class": "class {c}",
    "ch.client_n": "client {k}",
    "ch.global_title": "Global model: test {metric}",
    "ch.loss_title": "Global model: test loss",
    "ch.clients_loss_title": "Clients: local training loss",
    "ch.clients_val_title": "Clients: local validation {metric}",
    "ch.norm_title": "Update size per client",
    "ch.participation_title": "Participation: client × round",
}}


# Page tables kept in their own modules (one file per page keeps edits apart); same keys rule.
from . import text_attacks, text_crypto, text_csv, text_privacy  # noqa: E402

STRINGS["en"].update(text_privacy.EN)
STRINGS["en"].update(text_crypto.EN)
STRINGS["en"].update(text_attacks.EN)
STRINGS["en"].update(text_csv.EN)


def t(key: str, /, **values: object) -> str:
    """The string ``key`` in the active language, with ``{placeholders}`` filled in."""
    table = STRINGS.get(LANG, STRINGS["en"])
    text = table.get(key)
    if text is None:
        text = STRINGS["en"][key]  # KeyError on a typo: tests catch unknown keys
    return text.format(**values) if values else text
