"""What an evaluation leaves: its variant, the run records and their one reader, the gallery rows, the
study's published figures and the study table built from records."""
