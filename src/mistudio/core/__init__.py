"""The science: pure functions and small classes over tensors and files (no DB, web or Celery)."""
