"""The CLI with every attack and defence of issue 10 in the JSON config, and ``invert``."""

import json
import subprocess
import sys

import pytest

ATTACKS = {"backdoor": {"factor": 10.0, "target_label": 0},
           "label_flip": {"source_label": 7, "target_label": 1},
           "scale": {}, "random": {}, "sign_flip": {"factor": 1.0}, "gaussian": {}}


def _run(tmp_path, cfg, *extra, module="fedsim", cmd="run"):
    path = tmp_path / "cfg.json"
    path.write_text(json.dumps(cfg))
    out = tmp_path / "out.json"
    p = subprocess.run([sys.executable, "-m", module, cmd, "--config", str(path), "--out",
                        str(out), *extra], capture_output=True, text=True, timeout=300)
    return p, (json.loads(out.read_text()) if p.returncode == 0 and out.exists() else None)


def _cfg_for(attack):
    cfg = {"rounds": 2, "clients": {"malicious": {"ids": [3], "attack": attack,
                                                  "start_round": 1, **ATTACKS[attack]}},
           "aggregation": {"name": "fedavg", "norm_bound": 0.5}}
    if attack == "backdoor":  # the JSON block
        cfg["privacy"] = {"zkp": {"enabled": True, "norm": "l2", "bound": 0.1, "layer": 3}}
    elif attack == "scale":
        cfg["aggregation"] = {"name": "median"}
    elif attack == "random":
        cfg["aggregation"] = {"name": "krum", "krum_byzantine": 1}
    elif attack == "sign_flip":
        cfg["aggregation"] = {"name": "trimmed_mean", "norm_bound": 1.0}
    return cfg


def _check(attack, out):
    g = out["rounds"][-1]["global"]
    if attack in ("backdoor", "label_flip"):
        assert 0.0 <= g["attack_success"] <= 1.0
    else:
        assert "attack_success" not in g
    assert out["config"]["clients"]["malicious"]["attack"] == attack


def test_backdoor_l2_proofs_and_norm_bound_through_the_cli(tmp_path):
    p, out = _run(tmp_path, _cfg_for("backdoor"), "--quiet")
    assert p.returncode == 0, p.stderr
    _check("backdoor", out)
    assert out["rounds"][0]["rejected"] == [3]
    assert out["config"]["privacy"]["zkp"]["norm"] == "l2"
    assert out["config"]["aggregation"]["norm_bound"] == 0.5


@pytest.mark.parametrize("attack", [a for a in ATTACKS if a != "backdoor"])
def test_every_other_attack_and_defence(tmp_path, attack):
    # In-process (the same fedsim.cli.main the subprocess above runs) to keep the suite fast.
    from fedsim.cli import main
    path, out = tmp_path / "cfg.json", tmp_path / "out.json"
    path.write_text(json.dumps(_cfg_for(attack)))
    assert main(["run", "--config", str(path), "--out", str(out), "--quiet"]) == 0
    _check(attack, json.loads(out.read_text()))


@pytest.mark.parametrize("cfg, field", [
    ({"clients": {"malicious": {"ids": [3], "attack": "poison"}}}, "clients.malicious.attack"),
    ({"aggregation": {"norm_bound": -1}}, "aggregation.norm_bound"),
    ({"privacy": {"zkp": {"enabled": True, "norm": "l3"}}}, "privacy.zkp.norm"),
])
def test_bad_values_one_line_exit_2(tmp_path, cfg, field):
    p, _ = _run(tmp_path, cfg)
    assert p.returncode == 2
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"fedsim: error: {field}")


def test_invert_analytic_recovers_the_digit_and_secagg_hides_it(tmp_path):
    p, out = _run(tmp_path, {"seed": 0}, "--client", "0", "--method", "analytic",
                  module="fedsim.tools.invert_cli", cmd="invert")
    assert p.returncode == 0, p.stderr
    assert out["psnr"] > 60 and out["ssim"] > 0.99 and out["mse"] < 1e-4
    assert len(out["true"][0]) == 64 and len(out["reconstruction"][0]) == 64



def test_invert_under_secure_aggregation_sees_only_the_sum(tmp_path, capsys):
    import argparse

    from fedsim.tools.invert_cli import main
    from fedsim.config import SimulationConfig
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"seed": 0, "privacy": {"secure_aggregation": {"enabled": True}}}))
    args = argparse.Namespace(config=str(path), client=0, method="analytic", batch=1, steps=1,
                              iterations=10, restarts=1, out=str(tmp_path / "inv.json"))
    assert main(args) == 0
    sa = json.loads((tmp_path / "inv.json").read_text())
    assert sa["sees"] == "sum"
    assert sa["psnr"] < sa["baseline_psnr"]["mean"] + 3  # measured 8.4 dB vs 11.1 dB
    capsys.readouterr()
    assert main(argparse.Namespace(**{**vars(args), "client": 10})) == 2
    assert capsys.readouterr().err.strip().startswith("fedsim: error: --client")
    del SimulationConfig
