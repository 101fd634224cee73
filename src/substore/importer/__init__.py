"""`substore import`: a file sent to importSubscribers over HTTP only.

command.py is the CLI around it (progress, summary, exit code), job.py what it is asked
to do, client.py the lanes,
batches, retries and checkpoint, files.py the file side (rows, mapping, rejects).
"""
