"""Every figure a leader sees, assembled once (no Streamlit, no SQL of its own).

Each function takes a query runner ``run(fn, *args, **kwargs)`` that calls a ``queries`` function with an engine
and applies the city-wide suppression plan: the pages pass the cached, role-scoped runner of ``ui.common``; jobs
(the meeting pack, the briefing, the CLI) pass :func:`figures.run.plain`. The same code therefore serves every
surface, and a figure shown in two places is the same number (``tests/test_consistency.py``).

Layers (``docs/architecture.md``): pages/ui → jobs (writes) and figures → queries and the computation packages
→ store.
"""
