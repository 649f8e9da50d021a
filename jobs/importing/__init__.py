"""Importing a bureau's own data (issue #9): templates, reading, whole-batch validation and an all-or-nothing load.

- ``templates``: one documented template per entity (English and Chinese headers, units, codes);
- ``readers``: CSV (UTF-8, UTF-8 with BOM, GBK detected), Excel, GeoJSON and zipped Shapefile boundaries;
- ``validate``: every problem with file, row, column and a message a clerk understands (zh/en);
- ``load``: idempotent upsert by natural key in one transaction, replacements recorded in ``data_change``;
- ``history``: what the Data page shows about imports and replacements;
- ``cli``: ``bureau import`` and ``bureau template``.

See docs/import.md.
"""
