"""The worker's own HTTP server for the batched runtime, and fair limits for both runtimes' servers."""
