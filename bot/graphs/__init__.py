"""The graph behind the alert: its Prometheus expression over the hour before it fired
(and through verification), drawn as a PNG for the thread, the console and the post-mortem."""
