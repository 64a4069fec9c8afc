# The alertmanager exporter's test (test/notify-alertmanager.test.ts) starts a real Alertmanager on loopback.
apt_install prometheus-alertmanager
