"""Reports: domestic share, burn, utilisation."""
