"""Due diligence by commodity: profiles from config, outcomes per trace, the filed report.

The rules are pure (``oretrail.domain.commodities``, ``domain.outcomes``,
``domain.risk_management``); this package reads the profile files, assembles the
report from a finished trace and renders it as JSON, Markdown and HTML.
"""
