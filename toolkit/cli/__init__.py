"""The `toolkit` command line (typer): wiring in `main`, shared options and the error mapping in
`common`, one module per group of commands."""

from toolkit.cli.main import app

__all__ = ["app"]
