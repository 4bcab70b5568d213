"""The engines that speak qdrant-client: local mode (embedded), a server, and what they share (aliases, fusion)."""
