"""``python -m fedsim invert``: the server reconstructs a client's digit from its update.

::

    python -m fedsim invert --config cfg.json --client 0 --method analytic|dlg \\
        [--batch 1] [--steps 1] [--iterations 1000] --out inv.json

Reconstructs from the update client ``--client`` would send from the initial global model
after ``--steps`` local steps on ``--batch`` of its examples, with the configured privacy
mechanisms applied (:func:`fedsim.tools.reconstruct.reconstruct`), and writes the
reconstruction's ``psnr``, ``ssim`` and ``mse`` with the true and reconstructed images as
arrays. A bad value prints one line naming it and exits 2.

``fedsim.cli`` registers it with :func:`add_subcommand` and dispatches to :func:`main`; this
module also runs on its own: ``python -m fedsim.tools.invert_cli invert ...``.
"""

from __future__ import annotations

import argparse
import sys

from fedsim.errors import FedsimError


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2, like fedsim.cli
        self.exit(2, f"fedsim: error: {message}\n")


def add_subcommand(subparsers) -> argparse.ArgumentParser:
    """Add ``invert`` to an ``argparse`` subparsers object; returns its parser."""
    p = subparsers.add_parser("invert", help="reconstruct a client's examples from its update "
                              "(gradient inversion by the server)")
    p.add_argument("--config", help="JSON configuration file (default: the defaults)")
    p.add_argument("--client", type=int, default=0, help="which client (default 0)")
    p.add_argument("--method", choices=("analytic", "dlg"), default="analytic",
                   help="analytic first-layer inversion or DLG optimization (default analytic)")
    p.add_argument("--batch", type=int, default=1, help="examples in the local batch (1)")
    p.add_argument("--steps", type=int, default=1, help="local SGD steps (1: FedSGD)")
    p.add_argument("--iterations", type=int, default=1000, help="DLG iterations (1000)")
    p.add_argument("--restarts", type=int, default=2, help="DLG random restarts (2)")
    p.add_argument("--out", help="write the result as JSON here ('-' or none: stdout)")
    return p


def _estimate_bytes(batch: int) -> int:
    """A generous size of the result JSON: two images of up to 64 pixels per example, one
    number per line with ``indent=1`` (about 25 bytes each), plus the scores."""
    return 64 * 1024 + batch * 2 * 64 * 32


def main(args) -> int:
    """Run ``invert`` for parsed ``args``; 0 on success, 2 (one line on stderr) on a bad value."""
    from fedsim.config import SimulationConfig, load_config
    from fedsim.errors import ConfigError

    try:
        cfg = load_config(args.config) if args.config else SimulationConfig()
        for flag, v, lo in (("--iterations", args.iterations, 1), ("--restarts", args.restarts, 1),
                            ("--batch", args.batch, 1), ("--steps", args.steps, 1)):
            if v < lo or v > 100_000:
                raise ConfigError(flag, v, f"an integer from {lo} to 100000")
        from fedsim import jsonio
        from fedsim.outputs import OutputFiles

        # The same checks and atomic write as `fedsim run --out`, from the one helper: a
        # device, FIFO, folder, symlink or full disk is refused before TensorFlow is imported.
        outputs = OutputFiles()
        try:
            outputs.reserve("--out", args.out, _estimate_bytes(args.batch))
            from fedsim.tools.reconstruct import reconstruct

            out = reconstruct(cfg, args.client, args.method, args.batch, args.steps,
                              iterations=args.iterations, restarts=args.restarts)
            text = jsonio.dumps(out, indent=1)  # strict JSON: a non-finite score is null
            if args.out and args.out != "-":
                outputs.write("--out", text + "\n")
            else:
                print(text)
        finally:
            outputs.discard()
        print(f"fedsim: client {out['client']}, {out['method']}: PSNR {out['psnr']:.1f} dB "
              f"(mean-digit guess {out['baseline_psnr'].get('mean', float('nan')):.1f} dB), "
              f"SSIM {out['ssim']:.3f}, server saw the {out['sees']}", file=sys.stderr)
        return 0
    except FedsimError as exc:
        print(f"fedsim: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"fedsim: error: {exc.filename or ''}: {exc.strerror or exc}", file=sys.stderr)
        return 2


def _standalone(argv=None) -> int:
    p = _Parser(prog="python -m fedsim.tools.invert_cli")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    add_subcommand(sub)
    return main(p.parse_args(argv))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(_standalone())
