"""``python -m fedsim.schema`` (and ``python -m fedsim schema``): print the configuration's
JSON Schema, so an editor can check a config file as it is typed."""

from __future__ import annotations

import json
import sys

from fedsim.config import config_schema


def main(argv: list[str] | None = None) -> int:
    json.dump(config_schema(), sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
