"""`substore export`: subscribers out to a file, through the API only. client.py fetches
and writes the pages; command.py is the CLI around it."""
