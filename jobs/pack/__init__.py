"""The quarterly evaluation meeting pack (季度考核通报材料): a quarter frozen as a snapshot, exported to PDF and Excel.

``snapshot`` builds the content from the query functions and stores it in ``pack_snapshot``; ``pdf`` and ``excel``
render a stored snapshot; ``cli`` is ``bureau pack``. No UI here (pages/pack.py is the page). See docs/pack.md.
"""
