"""The research bench: sweep configs, the trial store, executors, the completion cache, reports."""
