"""Reports the office hands on: the monthly report (月报) and special reports (专报), as PDF."""
