"""The HTTP edge: reading and checking requests, running them, serving them with uvicorn."""
