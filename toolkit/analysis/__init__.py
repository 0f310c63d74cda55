"""Judging models and artifacts: line metrics and classical baselines (`toolkit evaluate`), robustness
sweeps, agreement of a graph or engine with PyTorch (`toolkit verify`), what a file is (`toolkit inspect`)
and the contour trunk's feature maps (`toolkit features`)."""
