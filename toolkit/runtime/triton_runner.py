"""A model on a Triton Inference Server as a runner: `toolkit infer scans/ --triton http://HOST:8000`.

The tiler, the pictures and the folder job are the local ones; only `infer_batch` crosses the network
(tritonclient, HTTP or gRPC), so a remote picture is the local one wherever the server runs the same
graph on the same kind of backend. The runner learns the model's card from the server:

- a model from `toolkit triton-repo` carries it in its config's parameters (`CARD_PARAMETER`);
- a model `toolkit serve` offers (PyTriton, whose configs take no parameters) gives it as a second
  output, `CARD_OUTPUT`, which the runner asks for once, on a 1x1 request.

Whole-image conditioning stays here, on the client (the tiler conditions each scan before cutting it),
so tiles of one scan are conditioned alike whichever server runs them.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlparse

import numpy as np

from toolkit.core.errors import InputError, MissingDependencyError, first_line
from toolkit.core.metadata import ModelCard
from toolkit.runtime.base import Runner

CARD_PARAMETER = "toolkit-card"  # config parameter: the card's props (ModelCard.to_props) as JSON
CARD_OUTPUT = "card"  # or an output: the same JSON as uint8 bytes, one row per batch item
PORTS = {"http": 8000, "grpc": 8001}


def parse_url(url: str) -> tuple[str, str]:
    """'http://host:8000' -> ('http', 'host:8000'); a bare 'host:port' is HTTP; gRPC as grpc://."""
    parsed = urlparse(url if "://" in url else f"http://{url}")
    if parsed.scheme not in PORTS or not parsed.hostname:
        raise InputError(f"--triton {url}: expected http://HOST:PORT or grpc://HOST:PORT")
    return parsed.scheme, f"{parsed.hostname}:{parsed.port or PORTS[parsed.scheme]}"


class TritonRunner(Runner):
    name = "triton"

    def __init__(self, url: str, model: str, *, timeout_s: float = 120.0) -> None:
        super().__init__()
        self.url, self.model = url, model
        self.protocol, self.address = parse_url(url)
        self.timeout_s = timeout_s
        self._client: Any = None
        self._module: Any = None
        self.max_batch = 1

    def activate(self) -> ModelCard:
        try:
            if self.protocol == "grpc":
                import tritonclient.grpc as module
            else:
                import tritonclient.http as module
        except ImportError:
            raise MissingDependencyError("tritonclient", "triton", "--triton") from None
        from tritonclient.utils import np_to_triton_dtype

        self._module, self._triton_dtype = module, np_to_triton_dtype
        if self.protocol == "grpc":
            self._client = module.InferenceServerClient(self.address)
        else:
            self._client = module.InferenceServerClient(
                self.address, connection_timeout=self.timeout_s, network_timeout=self.timeout_s
            )
        try:
            ready = self._client.is_server_ready() and self._client.is_model_ready(self.model)
        except Exception as error:  # connection refused, DNS, timeouts: tritonclient's own classes
            raise InputError(f"{self.url}: no Triton server answers ({first_line(error)})") from error
        if not ready:
            raise InputError(f"{self.url}: the server has no model '{self.model}' ready (--model names it)")
        if self.protocol == "grpc":
            config = self._client.get_model_config(self.model, as_json=True)["config"]
        else:
            config = self._client.get_model_config(self.model)
        self.max_batch = max(1, int(config.get("max_batch_size", 0)))
        return self._card_from(config)

    def _card_from(self, config: dict) -> ModelCard:
        parameters = config.get("parameters", {})
        if CARD_PARAMETER in parameters:
            props = json.loads(parameters[CARD_PARAMETER]["string_value"])
        elif any(output["name"] == CARD_OUTPUT for output in config.get("output", [])):
            served = config["input"][0]  # `toolkit serve` takes (N, H, W, C) uint8 pixels
            probe = np.zeros((1, 1, 1, int(served["dims"][-1])), np.uint8)
            answer = self._request(served["name"], probe, [CARD_OUTPUT])[CARD_OUTPUT]
            props = json.loads(answer[0].tobytes())
        else:
            raise InputError(
                f"{self.url}: model '{self.model}' carries no toolkit card (serve it with `toolkit serve` or "
                "`toolkit triton-repo`)"
            )
        return ModelCard.from_props(props, f"{self.url} model '{self.model}'")

    def deactivate(self) -> None:
        if self._client is not None:
            self._client.close()
        self._client = None

    def infer_batch(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        names = self.card.output_names
        name, step = self.card.input_name, self.max_batch
        pieces = [self._request(name, batch[i : i + step], names) for i in range(0, len(batch), step)]
        return {name: np.concatenate([piece[name] for piece in pieces]) for name in names}

    def _request(self, input_name: str, batch: np.ndarray, outputs: list[str]) -> dict[str, np.ndarray]:
        module = self._module
        request = module.InferInput(input_name, list(batch.shape), self._triton_dtype(batch.dtype))
        request.set_data_from_numpy(np.ascontiguousarray(batch))
        wanted = [module.InferRequestedOutput(name) for name in outputs]
        try:
            result = self._client.infer(self.model, [request], outputs=wanted)
        except Exception as error:  # the server's own message (a shape it refuses, an overload)
            raise InputError(
                f"{self.url}: model '{self.model}' failed the request ({first_line(error)})"
            ) from error
        return {name: result.as_numpy(name) for name in outputs}
