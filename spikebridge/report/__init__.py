"""Reports written by spikebridge commands (markdown, JSON and seaborn figures)."""

from .demo import summary, write_demo_report

__all__ = ["summary", "write_demo_report"]
