"""Serving: `toolkit triton-repo` (a Triton model repository) and `toolkit serve` (a Triton server with
PyTriton). `toolkit infer --triton` and `--ray` live with `infer`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from toolkit.cli.common import (
    BackendOption,
    ModelOption,
    OverwriteOption,
    PrecisionOption,
    console,
    sigterm_as_interrupt,
)
from toolkit.core.shipped import DEFAULT_MODEL

MaxBatchOption = Annotated[int, typer.Option("--max-batch", help="Largest batch the server forms.")]
QueueDelayOption = Annotated[
    int, typer.Option("--queue-delay", help="Microseconds the dynamic batcher waits to fill a batch.")
]


def triton_repo_command(
    models: Annotated[
        list[str], typer.Argument(help="ONNX graphs (serving graphs best), engines, or shipped names.")
    ],
    output: Annotated[Path, typer.Option("--output", "-o", help="The model repository folder.")] = Path(
        "models"
    ),
    max_batch: MaxBatchOption = 8,
    instances: Annotated[int, typer.Option(help="Model instances per device.")] = 1,
    device: Annotated[
        str, typer.Option(help="auto (engines on a GPU, graphs wherever Triton finds one), cpu or gpu.")
    ] = "auto",
    version: Annotated[int, typer.Option(help="The version folder to write.")] = 1,
    queue_delay: QueueDelayOption = 100,
    overwrite: OverwriteOption = False,
) -> None:
    """Write a Triton model repository: NAME/config.pbtxt and NAME/VERSION/model.onnx (or model.plan).

    Configs are built with Triton's own model-config protobuf and carry the model card, which
    `toolkit infer --triton` reads; an engine's dims and max_batch_size come from its profile.

    Examples:

    * `toolkit serving unet-light && toolkit triton-repo export/unet-light-serving.onnx -o models/`
    * `toolkit triton-repo engines/unet-light-fp16.engine -o models/` (tensorrt_plan)
    * `tritonserver --model-repository models/`
    """
    from toolkit.serving.triton_repo import RepoOptions, write_repository

    options = RepoOptions(max_batch, instances, device, version, queue_delay, overwrite)
    for model in write_repository(models, output, options):
        config = model.config
        batch = f"max batch {config.max_batch_size}"
        console.print(f"wrote {model.folder}/ ({config.platform}, {batch}, version {version})")
    console.print(f"next: tritonserver --model-repository {output}")


def serve_command(
    model: ModelOption = DEFAULT_MODEL,
    backend: BackendOption = "auto",
    precision: PrecisionOption = "auto",
    host: Annotated[str, typer.Option(help="Address to listen on; 0.0.0.0 serves other machines.")] = (
        "127.0.0.1"
    ),
    http_port: Annotated[int, typer.Option(help="HTTP port.")] = 8000,
    grpc_port: Annotated[int, typer.Option(help="gRPC port.")] = 8001,
    metrics_port: Annotated[int, typer.Option(help="Prometheus metrics port.")] = 8002,
    max_batch: MaxBatchOption = 8,
    queue_delay: QueueDelayOption = 100,
    name: Annotated[
        Optional[str], typer.Option(help="The model's name on the server. Default: the model's own.")
    ] = None,
) -> None:
    """Serve a model with NVIDIA Triton Inference Server (PyTriton) until Ctrl-C.

    It takes raw (N, H, W, C) uint8 pixels of any size and gives (N, H, W, 1) line probability, with
    dynamic batching, on the backend `toolkit infer` would use. Needs `pip install
    'line-art-toolkit[triton]'` (x86-64 or arm64 Linux with glibc 2.35 or newer).

    Examples:

    * `toolkit serve` then `toolkit infer scans/ --triton http://127.0.0.1:8000`
    * `toolkit serve --model engines/unet-light-fp16.engine --host 0.0.0.0`
    """
    from toolkit.serving.triton_server import ServeOptions, serve

    options = ServeOptions(host, http_port, grpc_port, metrics_port, max_batch, queue_delay, name)
    try:
        with sigterm_as_interrupt():  # a scheduler's SIGTERM stops the server as Ctrl-C does
            serve(model, backend=backend, precision=precision, options=options)
    except KeyboardInterrupt:
        console.print("server stopped")
