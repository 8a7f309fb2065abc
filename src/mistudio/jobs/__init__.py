"""Jobs: the Celery app, the one task that runs job rows, and each job kind's handler.

Every long operation is a job row (``store.Job``) plus a Celery message carrying its id. Handlers
load inputs from the store, call core with :class:`~mistudio.jobs.runtime.JobContext.progress`,
and write results and lineage back. See :mod:`mistudio.jobs.app` for broker and queue choices.
"""
