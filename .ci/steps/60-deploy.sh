# deploy/: lint the Dockerfile (no Docker engine in CI) and validate the Kubernetes manifests against the
# vendored strict schemas; systemd-analyze (Debian package systemd) lets test/deploy-systemd.test.ts
# verify the unit file.
apt_install systemd
node --import tsx deploy/lint-dockerfile.ts deploy/Dockerfile .
if [ -f deploy/kubernetes/validate.ts ]; then node --import tsx deploy/kubernetes/validate.ts; fi
