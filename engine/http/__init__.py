"""The worker's own HTTP server for the batched runtime: metrics, health and the supervisors' feeds."""
