"""Reading dataset folders: finding them under a data root, and each layout's reader."""
