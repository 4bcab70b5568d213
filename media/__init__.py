"""Image files and pictures of them: safe decoding, finding a dataset's image folder, thumbnails, gallery sheets.

Pillow and numpy only: nothing here imports torch, matplotlib or the other packages of the project,
so the encoders, ingest, search and evaluation can all share it.
"""
