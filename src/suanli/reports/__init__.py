"""Reports: pure arithmetic over posted records (domestic share, burn, utilisation, energy,
fairness). No I/O: services/reports.py loads the facts and calls these."""

NAMES = ("domestic-share", "burn", "utilisation", "energy", "fairness")
