"""inorder's domain package: everything the two Lambda handlers share.

The handlers in ``ingest/`` and ``processor/`` stay thin (parse, call this package, shape the
answer), so the rules of the system - what a valid event is, how it travels through SQS FIFO, how
a batch keeps per-account order - live here once and are tested without any AWS endpoint.
"""
