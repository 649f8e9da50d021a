"""Everything that writes: the demo city, imports, refresh, forecast runs, the meeting pack, users and the
``bureau`` command line. Jobs read figures through ``figures/``; nothing below imports a job
(docs/architecture.md)."""
