"""What the server tells its operators: log lines (logging.py) and metrics (metrics.py)."""
