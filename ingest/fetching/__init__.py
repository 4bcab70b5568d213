"""Downloading catalogued public datasets, verifying them and unpacking them where the readers look."""
