from fedsim.cli import main
import sys

if __name__ == "__main__":  # guarded: a spawned worker process re-imports the main module
    sys.exit(main())
