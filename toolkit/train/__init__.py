"""Training: the reference loss, metrics, the trainer (AMP, DDP through torchrun) and its plots."""
