"""`python -m toolkit` (and `torchrun -m toolkit train ...`) run the CLI."""

from toolkit.cli import app

app(prog_name="toolkit")
