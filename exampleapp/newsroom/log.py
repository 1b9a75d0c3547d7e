"""Logging helpers."""

import logging


class ClientAddressFilter(logging.Filter):
    """Add ``client`` to log records: the X-Forwarded-For chain, else REMOTE_ADDR.

    Behind the load balancer REMOTE_ADDR is the balancer itself, so the
    forwarded address is what helps when reading logs. Clients can forge the
    header, which is why it is used here and nowhere else.
    """

    def filter(self, record):
        meta = getattr(getattr(record, "request", None), "META", {})
        record.client = meta.get("HTTP_X_FORWARDED_FOR") or meta.get("REMOTE_ADDR") or "-"
        return True
