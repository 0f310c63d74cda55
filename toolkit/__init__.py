"""Line-art deployment toolkit: train, export, verify and run line-extraction CNNs."""

__version__ = "0.1.0"
