# processors/alerts/promtool.test.ts runs Prometheus's promtool (Debian package "prometheus") on the
# translated rule test files, to compare its verdicts with vigil test's.
apt_install prometheus
