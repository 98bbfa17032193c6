"""The use cases the CLI and the controller share: plan, apply (lease, settle, one executor),
explain. All reads happen before planning, all writes after, through the store."""
