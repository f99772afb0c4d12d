"""A teacher's classroom settings come from flags, the environment and their own settings file
(never from the installed package), and each value says where it came from."""

from __future__ import annotations

from fedsim_app.base import limits


def test_flag_beats_environment_beats_file_beats_default(tmp_path):
    f = tmp_path / "config.toml"
    f.write_text("[limits]\nmax_clients = 300\nmax_rounds = 50\nmax_hidden = 64\n")
    env = {"FEDSIM_CONFIG": str(f), "FEDSIM_MAX_ROUNDS": "70", "FEDSIM_MAX_HIDDEN": "128"}
    caps, where = limits.load_with_sources(env, flags={"max_hidden": 512})
    assert (caps.max_clients, caps.max_rounds, caps.max_hidden) == (300, 70, 512)
    assert where["max_clients"] == str(f)
    assert where["max_rounds"] == "environment FEDSIM_MAX_ROUNDS"
    assert where["max_hidden"] == "flag --max-hidden"
    assert where["max_epochs"] == "default" and caps.max_epochs == limits.Limits().max_epochs


def test_the_settings_file_is_the_users_not_the_packages(tmp_path, monkeypatch):
    monkeypatch.delenv("FEDSIM_CONFIG", raising=False)
    path = limits.settings_file({})
    assert path.name == "config.toml" and limits.APP_NAME in str(path)
    import fedsim_app

    package = str(__import__("pathlib").Path(fedsim_app.__file__).resolve().parent)
    assert not str(path.resolve()).startswith(package)
    assert limits.settings_file({"FEDSIM_CONFIG": str(tmp_path / "x.toml")}) == tmp_path / "x.toml"


def test_a_bad_value_is_ignored_with_one_line_and_falls_back(tmp_path, capsys):
    caps, where = limits.load_with_sources({"FEDSIM_MAX_CLIENTS": "lots"}, tmp_path / "none.toml")
    assert caps.max_clients == limits.Limits().max_clients and where["max_clients"] == "default"
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "max_clients='lots'" in err[0] and "FEDSIM_MAX_CLIENTS" in err[0]
