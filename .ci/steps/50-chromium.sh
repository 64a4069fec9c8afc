# The status page test (test/status-page.test.ts) drives Debian's Chromium headless with playwright-core
# (no browser download: executablePath /usr/bin/chromium) and saves a screenshot to artifacts/.
apt_install chromium
