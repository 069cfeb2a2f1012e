"""Route 53 ARC (cluster service) in the sandbox: see ``..models``."""
