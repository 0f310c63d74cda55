"""`python -m toolkit` (and `torchrun -m toolkit train ...`) run the CLI."""

from toolkit.cli.main import run

run()
