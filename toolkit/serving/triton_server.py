"""`toolkit serve MODEL`: a Triton Inference Server (PyTriton, the `triton` extra) bound to our runner,
on the CPU or a GPU, for `toolkit infer --triton` or any Triton client.

The served model takes raw pixels, as a serving graph does, whatever graph or engine runs it: input
`pixels` (N, H, W, C) uint8, output `lines` (N, H, W, 1) float32 line probability, any H and W, dynamic
batching; a classic graph gets the host pipeline (normalise, pad, crop) in the server. Its card comes
back as a second output, `card`, its JSON as uint8 (PyTriton's configs take no parameters), which
clients ask for once.
Clients condition whole scans themselves (the card names the method) and cut tiles as they like.
"""

from __future__ import annotations

import json
import logging
import os
import sysconfig
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from toolkit.core.errors import MissingDependencyError
from toolkit.core.metadata import LINES_OUTPUT, ModelCard, serving_form
from toolkit.runtime.backends import make_runner
from toolkit.runtime.pipeline import predict
from toolkit.runtime.routing import Router
from toolkit.runtime.triton_runner import CARD_OUTPUT

log = logging.getLogger(__name__)


EXIT_TIMEOUT_S = 5


@dataclass(frozen=True)
class ServeOptions:
    host: str = "127.0.0.1"  # 0.0.0.0 to serve other machines
    http_port: int = 8000
    grpc_port: int = 8001
    metrics_port: int = 8002
    max_batch: int = 8
    queue_delay_us: int = 100
    name: str | None = None  # the model's name on the server; default: the card's model name


def served_card(card: ModelCard) -> ModelCard:
    """What the server offers: the model's serving form (uint8 pixels in, lines at their size out)."""
    return card if card.takes_pixels else serving_form(card, "uint8")


def matching_libpython() -> None:
    """Make Triton's Python backend stub load this interpreter's libpython, not the system's.

    PyTriton's stub for 3.11 links `libpython3.11.so.1.0` by name; on a machine whose Python is not the
    system's (pyenv, conda), the loader found Debian's 3.11.2 and the stub then ran this interpreter's
    3.11.7 standard library on it ('_thread.RLock' object has no attribute '_recursion_count').
    """
    libdir = sysconfig.get_config_var("LIBDIR")
    if libdir and any(Path(libdir).glob("libpython3*.so*")):
        paths = [libdir, *filter(None, os.environ.get("LD_LIBRARY_PATH", "").split(":"))]
        os.environ["LD_LIBRARY_PATH"] = ":".join(dict.fromkeys(paths))


def serve(
    model: str, *, backend: str = "auto", precision: str = "auto", options: ServeOptions = ServeOptions()
) -> None:
    """Serve `model` until interrupted (Ctrl-C, SIGTERM)."""
    try:
        from pytriton.decorators import batch
        from pytriton.model_config import DynamicBatcher, ModelConfig, Tensor
        from pytriton.triton import Triton, TritonConfig
    except ImportError:
        raise MissingDependencyError("pytriton", "triton", "`toolkit serve`") from None
    runner, chosen = make_runner(model, backend, precision=precision)
    if isinstance(runner, Router):
        log.warning(
            "%s: serving its own graph alone; its route to %s is taken by `toolkit infer` and LineModel, "
            "which see whole pages (a request here may be tiles of one)",
            model,
            " and ".join(road.expert for road in runner.experts),
        )
    with runner:
        card = served_card(runner.card)
        # the card's JSON as uint8 bytes: BYTES tensors came back empty from PyTriton under numpy 2
        card_json = np.frombuffer(json.dumps(card.to_props()).encode(), np.uint8)
        name = options.name or card.model

        @batch
        def infer(pixels: np.ndarray) -> dict[str, Any]:
            lines = predict(runner, list(pixels))[LINES_OUTPUT]  # (N, 1, H, W): each graph fed its way
            cards = np.broadcast_to(card_json, (len(pixels), len(card_json)))
            return {LINES_OUTPUT: np.ascontiguousarray(np.moveaxis(lines, 1, 3)), CARD_OUTPUT: cards}

        matching_libpython()
        config = TritonConfig(
            http_address=options.host,
            http_port=options.http_port,
            grpc_address=options.host,
            grpc_port=options.grpc_port,
            metrics_port=options.metrics_port,
            # in-flight requests get this long at shutdown; Triton's 30 s default was spent waiting on
            # the Python backend's proxy model, which PyTriton stops from this process
            exit_timeout_secs=EXIT_TIMEOUT_S,
        )
        with Triton(config=config) as triton:
            triton.bind(
                model_name=name,
                infer_func=infer,
                inputs=[Tensor(name=card.input_name, dtype=np.uint8, shape=(-1, -1, card.input_channels))],
                outputs=[
                    Tensor(name=LINES_OUTPUT, dtype=np.float32, shape=(-1, -1, 1)),
                    Tensor(name=CARD_OUTPUT, dtype=np.uint8, shape=(-1,)),
                ],
                config=ModelConfig(
                    max_batch_size=options.max_batch,
                    batcher=DynamicBatcher(max_queue_delay_microseconds=options.queue_delay_us),
                ),
                strict=True,
            )
            triton.run()  # starts the server and loads the model; leaving `with` stops both
            log.info(
                "serving %s (%s on %s) at http://%s:%d and grpc://%s:%d; Ctrl-C stops",
                name,
                runner.card.precision,
                chosen,
                options.host,
                options.http_port,
                options.host,
                options.grpc_port,
            )
            # our own wait, not `triton.serve()`: a SIGTERM that came during its start-up hung it
            while triton.is_alive():
                time.sleep(0.5)
