"""The employment database and its jobs: configuration, schema, demo city, refresh and the CLI."""
