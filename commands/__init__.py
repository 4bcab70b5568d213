"""The command line's commands, one module per area; cli.py assembles them into one group."""
