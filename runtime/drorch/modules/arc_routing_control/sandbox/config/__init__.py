"""Route 53 ARC (config service) in the sandbox: see ``..models``."""
