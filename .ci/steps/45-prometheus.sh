# The prometheus exporter's end-to-end test (test/prometheus-e2e.test.ts) runs Debian's real Prometheus
# scraping vigil and queries it over its HTTP API; promtool checks the Grafana dashboards' queries.
apt_install prometheus
