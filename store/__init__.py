"""The data layer: schema and migrations, configuration, indicator definitions, partitions, users and the
audit log. It imports nothing else of the project (docs/architecture.md)."""
