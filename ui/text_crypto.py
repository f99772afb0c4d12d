"""English strings of the What the server sees page (merged into ``ui.text.STRINGS``)."""

EN: dict[str, str] = {
    "nav.crypto": "What the server sees",
    "crypto.title": "What the server sees",
    "crypto.intro": (
        "Federated learning keeps the data on the clients, but the server still receives "
        "every update, and updates can leak. Here the clients hide their updates so the "
        "server learns only the **sum**, and prove their updates are in range without "
        "showing them. Everything below is the real cryptography running on this round's "
        "real updates."),
    "crypto.building": "Preparing the model (the first time takes a few seconds)…",

    # ---- controls
    "crypto.settings": "Settings (changing one resets the run)",
    "crypto.hide": "Hide updates with",
    "crypto.hide.help": (
        "none: the server reads every update. secure aggregation: clients add random masks "
        "that cancel in the sum. Paillier, CKKS: clients encrypt; the server adds "
        "ciphertexts it cannot read."),
    "crypto.hide.none": "nothing",
    "crypto.hide.secagg": "secure aggregation",
    "crypto.hide.paillier": "Paillier",
    "crypto.hide.ckks": "CKKS",
    "crypto.hide.none_caption": "Pick a way to hide the updates, then run a round and "
                                "compare what the server receives.",
    "crypto.threshold": "Shares needed to unmask (t/n)",
    "crypto.threshold.help": (
        "Each client splits its secrets into shares, one per peer. The server needs this "
        "fraction of them to remove the masks. Higher = safer against a server that "
        "collects shares, but fewer clients may drop out before a round is lost."),
    "crypto.neighbors": "SecAgg+ neighbours",
    "crypto.neighbors.help": (
        "all: every pair of clients shares a mask (Bonawitz et al. 2017). A number k: each "
        "client masks and shares only with k neighbours on a ring (SecAgg+, Bell et al. "
        "2020), so its work grows with k, not with the number of clients."),
    "crypto.neighbors.all": "all clients",
    "crypto.neighbors.k": "{k} neighbours",
    "crypto.hebits": "Paillier key size (bits)",
    "crypto.hebits.help": (
        "A bigger key is harder to break and slower: every ciphertext is twice the key size. "
        "1024 bits is for demos only; 2048 is today's minimum."),
    "crypto.helayer": "Encrypt",
    "crypto.helayer.help": (
        "Encryption costs time and bytes for every value encrypted. Encrypting only one "
        "weight tensor (say the last layer) is much cheaper; the other values then travel "
        "in the clear, and the server can read those."),
    "crypto.helayer.all": "the whole model",
    "crypto.helayer.one": "only layer {label}",
    "crypto.helayer.caption": (
        "Why one layer? Cost grows with the number of encrypted values. This model has "
        "{total:,} values; encrypting one small layer protects it at a fraction of the cost, "
        "but leaves the rest readable."),
    "crypto.zkp": "Zero-knowledge range proofs",
    "crypto.zkp.help": (
        "Each client proves that its update's values lie within ±bound, without revealing "
        "them. The server drops clients whose proof fails."),
    "crypto.bound": "Bound per value (±)",
    "crypto.bound.help": (
        "The largest size any single update value may have. Honest clients cut their values "
        "to this bound before proving; a client that scales its update up fails the proof."),
    "crypto.coords": "Values checked per client",
    "crypto.coords.help": (
        "Proving every value would take seconds, so each round the server picks this many "
        "random positions and every client proves those. Each one costs a few milliseconds "
        "per client to prove and to verify (measured below under cost)."),
    "crypto.clip_fixed": (
        "The masking range was set to ±{bound} (the proof bound) so that honest clients' "
        "masked updates pass their proofs; it changes nothing for them."),
    "crypto.malicious": "Malicious clients",
    "crypto.malicious.help": (
        "These clients train honestly, then tamper with their update before sending it."),
    "crypto.attack": "Attack",
    "crypto.attack.help": (
        "scale: multiply the update by the factor. random: replace it by noise of the same "
        "size times |factor|."),
    "crypto.attack.scale": "scale it",
    "crypto.attack.random": "send noise",
    "crypto.attack.sign_flip": "flip the sign",
    "crypto.attack.gaussian": "add Gaussian noise",
    "crypto.attack.label_flip": "flip labels",
    "crypto.attack.backdoor": "plant a backdoor",
    "crypto.factor": "Factor",
    "crypto.factor.help": (
        "How strongly the attack works. A negative factor flips the update, pushing the "
        "model the wrong way."),
    "crypto.drop": "Dropout (chance a client vanishes)",
    "crypto.drop.help": (
        "Chance that a picked client trains and masks its update but never uploads it. "
        "Secure aggregation must then rebuild its masks from the others' shares."),

    # ---- explanations (one per mechanism)
    "crypto.explain.none": (
        "**No hiding.** Each client sends its update as plain numbers, and the server reads "
        "every one. An honest-but-curious server can learn a lot from a single update (for "
        "example which labels a client has)."),
    "crypto.explain.secagg": (
        "**Secure aggregation** (Bonawitz et al. 2017). Every pair of clients agrees on a "
        "random mask; one adds it, the other subtracts it. Each masked update looks like "
        "random numbers, but in the sum the masks cancel. Each client also splits its "
        "secrets into Shamir shares (any t of n rebuild them), so if a client drops out, "
        "the survivors' shares let the server remove its masks. *Threat model:* an "
        "honest-but-curious server learns only the sum, as long as fewer than t clients "
        "collude with it."),
    "crypto.explain.paillier": (
        "**Paillier encryption.** Clients share a key pair the server does not have. Each "
        "encrypts its update; multiplying two Paillier ciphertexts gives an encryption of "
        "the *sum* of what they hold, so the server combines ciphertexts it cannot read "
        "and only the key holder decrypts the total. *Threat model:* the server must not "
        "collude with any client (each client holds the secret key). Each ciphertext "
        "packs many values, but is still large and slow to make."),
    "crypto.explain.ckks": (
        "**CKKS encryption** (approximate homomorphic encryption). Like Paillier, clients "
        "share a key the server lacks and the server adds ciphertexts it cannot read, but "
        "one CKKS ciphertext holds 4,096 real numbers at once. The decrypted sum is off by "
        "tiny rounding noise. *Threat model:* the server must not collude with any client "
        "(each holds the secret key)."),
    "crypto.explain.zkp": (
        "**Zero-knowledge range proofs** (as in RoFL). Hiding updates also hides a poisoned "
        "one. So each client commits to its update and proves that the values are within "
        "±bound, without revealing them. Checking every value is slow, so the server checks "
        "a random subset of positions (chosen after clients commit); a cheater is caught "
        "as soon as one checked value is out of range. Afterwards the server checks that "
        "the accepted commitments add up to the sum it used."),

    # ---- masking toy
    "crypto.toy.expander": ":material/touch_app: Try it: masks that cancel",
    "crypto.toy.intro": (
        "Three users hold secret numbers. Each pair shares a random mask: the first of the "
        "pair adds it, the second subtracts it. Move the masks: what each user sends "
        "changes, the sum does not."),
    "crypto.toy.mask": "Mask shared by {a} and {b}",
    "crypto.toy.mask.help": "A random number only these two users know. {a} adds it, {b} "
                            "subtracts it.",
    "crypto.toy.title": "What each user sends, and the sum",
    "crypto.toy.user": "user {name}",
    "crypto.toy.sum": "sum",
    "crypto.toy.secret": "secret value (only the user knows)",
    "crypto.toy.sent": "what the server receives",
    "crypto.toy.value": "value",
    "crypto.toy.caption": (
        "Sum of secrets: **{secret:.0f}**. Sum of what was sent: **{sent:.0f}**. The "
        "server learns the total and nothing about any single user."),

    # ---- the shared stepper (ui.stepper), used by several pages
    "step.reset": "Reset",
    "step.reset.help": "Back to round 0 with the same initial model (same seed).",
    "step.phase": "Next phase",
    "step.phase.help": "Run one phase of the round (select, train, protect, upload, …).",
    "step.round": "Next round",
    "step.round.help": "Finish the current round (or run a whole new one).",
    "step.to_end": "Run to the end",
    "step.to_end.help": "Run every remaining planned round now.",
    "step.counter.help": "rounds finished / rounds planned (the same run on every page)",
    "step.in_round": "Round {round} in progress · next: **{phase}**. The charts below "
                     "show the last finished round.",
    "step.finished": "All {total} rounds done. Reset, or add rounds on the Training page.",
    "step.now": "**Next: {phase}.** {what} :material/visibility: *The server can see:* "
                "{sees}",
    "crypto.no_sim": "Fix the settings above to run rounds.",

    # ---- server view
    "crypto.view_title": "Round {round}: one client's update, what it sent, what the "
                         "server recovered",
    "crypto.no_rounds": "No round yet: press **Next round**.",
    "crypto.client": "Client to look at",
    "crypto.client.help": "Any client picked in the last round; the charts follow it.",
    "crypto.client.dropped": "client {id} (dropped)",
    "crypto.client.rejected": "client {id} (rejected)",
    "crypto.client.malicious": "client {id} (malicious)",
    "crypto.client.plain": "client {id}",
    "crypto.coords_caption": (
        "The {k} values that changed most this round, out of {total:,} (#number = position "
        "in the model). Hover a bar for its layer."),
    "crypto.plain_caption": ":material/lock: *Simulator view:* the real update. With "
                            "hiding on, it never leaves the client.",
    "crypto.plain_caption_none": ":material/visibility: The server receives exactly these "
                                 "numbers ({size} per client).",
    "crypto.masked_caption": (
        "*Server view:* the same positions as they arrived: whole numbers between 0 and "
        "2³² that look like noise. {size} per client."),
    "crypto.masked_dropped": "Client {id} masked its update but dropped out: this vector "
                             "never reached the server.",
    "crypto.cipher_title": "Client {id}'s ciphertext (first bytes)",
    "crypto.cipher_title_ckks": "First sampled client's ciphertext (first bytes)",
    "crypto.cipher_caption": (
        "*Server view:* {n} ciphertext(s) of {each} each, {size} in all ({x} the plain size "
        "of what is encrypted). {enc:,} values encrypted, {clear:,} sent in the clear."),
    "crypto.layer_shown": (
        ":material/warning: Only layer {layer} is encrypted: {inside} of the {k} values "
        "shown are in it. The others travel in the clear, and the server reads them."),
    "crypto.cipher_ckks_note": "The engine keeps a preview of the first sampled client's "
                               "ciphertext only.",
    "crypto.none_sent": "With no hiding, what the server receives *is* the update on the left.",
    "crypto.sum_title": "Average update: plain vs recovered",
    "crypto.sum_title_none": "Average update the server computed",
    "crypto.sum_error": "Largest difference",
    "crypto.sum_error.help": (
        "Largest gap, over every value of the model, between the average the server "
        "recovered and the plain average of the same clients' updates. For secure "
        "aggregation and Paillier it comes from rounding to fixed-point numbers; CKKS adds "
        "tiny noise."),
    "crypto.sum_bound": "Guaranteed at most",
    "crypto.sum_bound.help": "The engine's worst case for this round's rounding error.",
    "crypto.sum_caption": (
        "Grey bars: the plain average of the {n} updates used (simulator view). Black "
        "diamonds: what the server recovered from the hidden updates. They match."),
    "crypto.sum_caption_dp": "Central differential privacy is on: the server adds noise to "
                             "the recovered sum, so the diamonds include that noise.",
    "crypto.sum_caption_none": "The server computes this from the plain updates it read.",
    "crypto.aborted": (
        "**Round {round} was abandoned.** {reason}. The server applied nothing: the global "
        "model is unchanged. Lower the share threshold or the dropout to avoid this."),
    "crypto.recovered": (
        "Dropped after masking: client(s) {ids}. Their masks were rebuilt from "
        "{survivors} survivors' Shamir shares (t = {t} of {holders} needed), and the sum "
        "came out right."),
    "crypto.no_drop": "No client dropped this round. Raise the dropout to watch the masks "
                      "of a vanished client get rebuilt.",
    "crypto.bytes_caption": (
        "Every byte of client {id}'s encoded update vs its masked vector. Plain small "
        "numbers are mostly 00 and FF bytes; masked bytes are spread evenly, "
        "{masked:.2f} bits of randomness per byte out of 8."),
    "crypto.he_dropout": "{n} client(s) dropped; encryption needs no recovery: the server "
                         "simply adds the ciphertexts that arrived.",

    # ---- proofs
    "crypto.proofs_title": "Proofs: who was let in",
    "crypto.proofs_off": "Proofs are off: every arriving update is used unchecked. Switch "
                         "them on above to catch the malicious client.",
    "crypto.check_ok": ":material/check_circle: Round {round}: the accepted clients' "
                       "commitments add up to the sum the server used (gap {gap:.3g}, "
                       "allowed up to {tol:.3g}).",
    "crypto.check_bad": ":material/cancel: Round {round}: the accepted commitments do NOT "
                        "add up to the sum used.",
    "crypto.rejected_now": "Round {round}: rejected client(s) {ids}. The verifier says: "
                            "*{reason}*.",
    "crypto.proofs_caption": (
        "Green: proof verified, update used. Red: proof failed, update thrown away. ✓ above "
        "a round: the aggregate check passed. Hover a red cell for the reason."),
    "crypto.compare_off": "Compare with proofs off",
    "crypto.compare_on": "Compare with proofs on",
    "crypto.compare.help": (
        "Runs the same configuration and seed again with proofs switched the other way "
        "(real training, remembered per configuration), and draws its accuracy too."),
    "crypto.comparing": "Running the same rounds with proofs switched…",
    "crypto.compare_failed": "The comparison could not run: {error}",
    "crypto.acc_caption": (
        "Black: this run. Dashed: the same seed and settings with proofs {other}. With a "
        "malicious client, the run without proofs is dragged off course."),
    "crypto.other.off": "off",
    "crypto.other.on": "on",

    # ---- cost
    "crypto.cost_title": "What it costs",
    "crypto.cost_intro": (
        "Measured on this machine (median over the rounds run so far) against the same "
        "settings without masking, encryption or proofs (plain FedAvg, run once here for "
        "{rounds} round(s))."),
    "crypto.cost_none": "No protection is on: this run *is* plain FedAvg.",
    "crypto.cost.measuring": "Measuring plain FedAvg on the same settings…",
    "crypto.cost.what": "per round",
    "crypto.cost.plain": "plain FedAvg",
    "crypto.cost.this": "this setup",
    "crypto.cost.ratio": "ratio",
    "crypto.cost.protect_ms_per_client": "client: protect the update (ms per client)",
    "crypto.cost.server_ms": "server: combine and apply (ms per round)",
    "crypto.cost.up_per_client": "upload per client",
    "crypto.cost.down_per_client": "download per client",
    "crypto.cost.short.protect_ms_per_client": "client:<br>protect",
    "crypto.cost.short.server_ms": "server:<br>combine",
    "crypto.cost.short.up_per_client": "upload",
    "crypto.cost.short.down_per_client": "download",
    "crypto.cost.train": "For scale: local training takes about {ms:,.1f} ms per client per "
                         "round (the same with or without protection).",
    "crypto.cost.mech": "By mechanism, ms per round (all clients together): {parts}.",
    "crypto.mech.secagg": "secure aggregation",
    "crypto.mech.he": "encryption",
    "crypto.mech.zkp": "proofs",
    "crypto.cost.mech_part": "{name} client {client:.1f} / server {server:.1f}",
    "crypto.cost_caption": (
        "Clients run one after another in this simulation, so the per-client time is what "
        "one phone or hospital would spend. Time is on a log scale."),

    # ---- chart labels
    "crypto.ch.coordinate": "position in the model",
    "crypto.ch.layer": "(layer {layer})",
    "crypto.ch.value": "value",
    "crypto.ch.ring_value": "value sent (0 … 2³²)",
    "crypto.ch.plain_title": "Client {id}'s update (plain)",
    "crypto.ch.plain": "plain update",
    "crypto.ch.masked_title": "What client {id} sent (masked)",
    "crypto.ch.masked": "masked",
    "crypto.ch.plain_sum": "plain average (simulator)",
    "crypto.ch.recovered": "recovered by the server",
    "crypto.ch.bytes_title": "How often each byte value occurs",
    "crypto.ch.bytes_plain": "encoded update ({bits:.1f} bits/byte)",
    "crypto.ch.bytes_masked": "masked ({bits:.2f} bits/byte)",
    "crypto.ch.uniform": "perfectly random",
    "crypto.ch.byte_value": "byte value (hex)",
    "crypto.ch.share": "share of bytes",
    "crypto.ch.proofs_title": "Proof checks: client × round",
    "crypto.ch.acc_title": "Global model: test {metric}",
    "crypto.ch.this_run": "this run",
    "crypto.ch.other_run": "proofs {other}",
    "crypto.ch.cost_time": "Time, ms (log)",
    "crypto.ch.cost_bytes": "Bytes per client",
    "crypto.status.not_sampled": "not picked",
    "crypto.status.verified": "proof verified",
    "crypto.status.dropped": "dropped",
    "crypto.status.rejected": "proof failed: rejected",
    "crypto.status.unchecked": "used without a proof",
}
