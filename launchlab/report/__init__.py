"""``launchlab report``: cost and operational burden of each launch type, from the templates."""

from launchlab.report.command import add_parser

__all__ = ["add_parser"]
