"""One module per model family; each holds its encoders' records and registers them with its builder.

`encoders.registry.discover` imports every module here, so a new encoder is one
new module calling `encoders.registry.register`. Modules import torch and the
model libraries inside functions only: listing encoders must not load them.
"""
