"""The outsourcing vendor's side of the batch API: list, lease, download, verify, push, ack."""
