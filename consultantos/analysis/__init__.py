"""Competitive analysis reports: one company over a period, from its monitors' snapshots,
rollups and alerts, compared with the other companies of its industry.

    request.py   what may be asked (company, period), checked the same by the API and the task
    data.py      the report as JSON-able data
    charts.py    inline SVG charts
    render.py    the self-contained HTML page
    reports.py   the stored report records: create, run, read
"""
