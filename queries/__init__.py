"""SQL against the employment database, one module per subject; every function returns a DataFrame.

All statements are SQLAlchemy Core with bound parameters and aggregate in the database.
"""
