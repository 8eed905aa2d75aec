"""``synthdb serve``: a web app and REST API over the library, with training and generation
run as background jobs in worker processes.

Needs the ``serve`` extra (``pip install 'synthdb[serve]'``). The pieces, each with one reason
to change: settings, state (the tables in SQLite or PostgreSQL), security (token, secrets,
masking), uploads, jobs (queue and worker processes), tasks (the library calls a job makes),
api (REST under ``/api/v1``), web (the server-rendered pages) and app (the factory).
"""
