"""The Assistants API v2 under /v1/, for applications written against OpenAI's: the same
paths, objects, errors and streams, over this app's own threads, runs and upstreams
(contract: docs/assistants-api.md).

    endpoint    bearer keys, the API's error shape, method dispatch
    ids         this app's ids as the API spells them (asst_12, thread_3, run_5, ...)
    shapes      the API's objects, built from the app's rows
    pagination  limit / order / after / before
    catalogue   a user's assistant and the operator's upstream for its model
    services    writes: assistants, threads with messages, messages, runs
    lookups     reads of one user's objects by API id
    stream      a run's event log as an Assistants server-sent event stream
    views_*     thin views; urls
"""
