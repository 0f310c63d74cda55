"""Pixels as files and as model inputs: reading images, per-image conditioning, the normalisation and
stride padding every backend and the training data share. numpy and OpenCV only."""
