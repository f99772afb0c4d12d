"""Behaviour fingerprints: 16 configurations covering every model, partition, mechanism and
attack, each run through the CLI of the checkout named on the command line, hashed without
timings. Run it before and after a refactor; the two lists must be equal.

    python -m bench.identity OUT_DIR REPO_DIR [reuse]

Timings (``ms`` keys) and ciphertext previews are left out. CKKS draws fresh encryption noise
from TenSEAL's own randomness (as it must), so its run is compared to 5 significant digits
without the decrypted-sum measurements; every other configuration is compared exactly.
"""
import hashlib, json, os, subprocess, sys, csv, pathlib
OUT = pathlib.Path(sys.argv[1]); OUT.mkdir(exist_ok=True)
csvp = OUT / "h.csv"
with open(csvp, "w") as f:
    f.write("site,age,bmi,smoker,outcome\n")
    import random
    r = random.Random(0)
    for i in range(240):
        f.write(f"{['a','b','c'][i%3]},{r.randint(20,80)},{r.uniform(18,35):.2f},{r.choice(['y','n'])},{r.randint(0,1)}\n")
C = {
 "iid_mlp_adam_fedadam": {"rounds": 3, "partition": {"name": "iid"}, "training": {"optimizer": "adam", "lr": 0.01}, "aggregation": {"server_optimizer": "fedadam"}},
 "dirichlet_fedprox_momentum_yogi": {"rounds": 3, "partition": {"name": "dirichlet", "alpha": 0.3}, "training": {"optimizer": "momentum", "prox_mu": 0.1}, "aggregation": {"server_optimizer": "fedyogi"}},
 "pathological_cnn_median": {"rounds": 2, "partition": {"name": "pathological", "classes_per_client": 2}, "model": {"name": "cnn"}, "aggregation": {"name": "median"}},
 "shards_trimmed_scale": {"rounds": 3, "partition": {"name": "shards"}, "aggregation": {"name": "trimmed_mean"}, "clients": {"malicious": {"ids": [1], "attack": "scale", "factor": -5}}},
 "quantity_krum_random": {"rounds": 3, "partition": {"name": "quantity", "sigma": 1.0}, "aggregation": {"name": "krum"}, "clients": {"malicious": {"ids": [2], "attack": "random"}}},
 "feature_fedavgm_signflip": {"rounds": 3, "partition": {"name": "feature"}, "aggregation": {"server_optimizer": "fedavgm", "norm_bound": 0.5}, "clients": {"malicious": {"ids": [0], "attack": "sign_flip"}}},
 "regression_central_dp_adaptive": {"rounds": 3, "dataset": {"name": "seed_regression", "num_samples": 500}, "model": {"name": "seed_mlp"}, "privacy": {"dp": {"mode": "central", "adaptive_clip": True, "noise_multiplier": 0.3}}, "clients": {"num_clients": 40, "fraction": 1.0}},
 "2d_local_dp_gaussian": {"rounds": 3, "dataset": {"name": "2d", "shape": "xor", "num_samples": 400}, "clients": {"num_clients": 6, "malicious": {"ids": [1], "attack": "gaussian"}}, "privacy": {"dp": {"mode": "local", "clip": 0.5, "noise_multiplier": 0.3}}},
 "breast_dpsgd_labelflip": {"rounds": 2, "dataset": {"name": "breast_cancer"}, "model": {"name": "logistic"}, "privacy": {"dp": {"mode": "dpsgd", "noise_multiplier": 1.0}}, "clients": {"num_clients": 5, "malicious": {"ids": [0], "attack": "label_flip", "source_label": 0, "target_label": 1}}},
 "secagg_dropout_backdoor": {"rounds": 3, "clients": {"dropout": 0.2, "malicious": {"ids": [3], "attack": "backdoor", "factor": 5}}, "privacy": {"secure_aggregation": {"enabled": True, "threshold": 0.6}}},
 "secaggplus_central_dp": {"rounds": 2, "clients": {"num_clients": 8}, "privacy": {"secure_aggregation": {"enabled": True, "neighbors": 4}, "dp": {"mode": "central", "noise_multiplier": 1.0}}},
 "ckks": {"rounds": 2, "clients": {"num_clients": 4}, "privacy": {"he": {"scheme": "ckks"}}},
 "paillier_layer": {"rounds": 1, "clients": {"num_clients": 3}, "privacy": {"he": {"scheme": "paillier", "key_bits": 1024, "layer": 3}}},
 "zkp_linf_scale": {"rounds": 2, "clients": {"num_clients": 4, "malicious": {"ids": [3], "attack": "scale", "factor": -10}}, "privacy": {"zkp": {"enabled": True, "bound": 0.05, "coordinates": 4}}},
 "zkp_l2_layer": {"rounds": 1, "clients": {"num_clients": 3}, "privacy": {"zkp": {"enabled": True, "norm": "l2", "bound": 1.0, "layer": 3}}},
 "csv_natural": {"rounds": 3, "dataset": {"name": "csv", "path": str(csvp), "label": "outcome", "partition_column": "site"}, "partition": {"name": "natural"}, "clients": {"num_clients": 3}},
}
import re
TIMING = re.compile(r"(^|_)ms($|_)|^preview_hex$")
def strip(o, approx=False):
    """Drop timings and ciphertext bytes; CKKS is approximate by design: round to 5 digits."""
    if isinstance(o, dict):
        return {k: strip(v, approx) for k, v in o.items() if not TIMING.search(k) and not (approx and k == "he_sum")}
    if isinstance(o, list):
        return [strip(v, approx) for v in o]
    if approx and isinstance(o, float):
        return float(f"{o:.5g}")
    return o
repo = sys.argv[2]
for name, cfg in C.items():
    cp = OUT / f"{name}.cfg.json"; cp.write_text(json.dumps(cfg))
    out = OUT / f"{name}.run.json"
    if len(sys.argv) > 3 and out.exists():
        p = subprocess.CompletedProcess([], 0)
    else:
      p = subprocess.run([f"{repo}/.venv/bin/python", "-m", "fedsim", "run", "--config", str(cp), "--out", str(out)], cwd=repo, capture_output=True, text=True)
    if p.returncode:
        print(name, "FAILED", p.stderr[-500:]); continue
    d = strip(json.loads(out.read_text()), approx=name == "ckks")
    if "config" in d and d["config"].get("dataset", {}).get("path"):
        d["config"]["dataset"]["path"] = "X"
    print(name, hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:16])
