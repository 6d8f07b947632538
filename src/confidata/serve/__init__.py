"""`confidata serve`: the web app and the REST service over the public Python API.

The top floor of the package: nothing in confidata imports it. Module map:

- `app`: the FastAPI application factory and its options (`ServeConfig`), start-up and shutdown
- `api`: the REST routes under /v1 (datasets, schemas, jobs, their files)
- `pages`: the server-rendered web pages (templates/, static/)
- `actions`: what a page and a REST call both do (upload, queue a job, delete)
- `store`: datasets and jobs in SQLite (WAL) beside their files
- `runner`: worker processes that run queued jobs off the event loop, cancellable
- `work`: what each kind of job does, with the same functions as the command line
- `security`: tokens, host and origin checks, CSRF, request size limits
- `problems`: errors as RFC 9457 problem details
"""

from confidata.serve.app import ServeConfig, create_app

__all__ = ["ServeConfig", "create_app"]
