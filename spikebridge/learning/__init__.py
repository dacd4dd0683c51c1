"""Training the multi-task networks: the training loop, checkpoints and the data tensors."""
