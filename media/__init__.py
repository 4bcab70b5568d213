"""Image files and pictures of them: safe decoding, finding a dataset's image folder, thumbnails, gallery sheets.

Pillow and numpy only: nothing here imports torch, matplotlib, or the encoders,
ingest, search and evaluation packages, so all of them can share it.
"""
