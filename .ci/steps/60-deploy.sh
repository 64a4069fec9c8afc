# deploy/: lint the Dockerfile (no Docker engine in CI) and validate the Kubernetes manifests against the
# vendored strict schemas (and the vigil configs in their ConfigMaps as `vigil validate` does).
# systemd (systemd-analyze) and strace let test/deploy-systemd.test.ts verify the unit file and check its
# SystemCallFilter against the system calls of a real run.
apt_install systemd strace
node --import tsx deploy/lint-dockerfile.ts deploy/Dockerfile .
node --import tsx deploy/kubernetes/validate.ts
