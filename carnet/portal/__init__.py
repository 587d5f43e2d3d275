"""The person's own space: views only; the logic stays in the records domain."""
