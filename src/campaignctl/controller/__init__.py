"""The controller: the reconcile loop, the file watcher that wakes it, its metrics and logs."""
