"""TensorRT engines: the build (`toolkit build-engine`) and the engine file format (plan + JSON header).

The runner that executes engines is `toolkit.runtime.tensorrt_runner.TensorRTRunner`.
"""
