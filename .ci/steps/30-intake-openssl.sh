# The intake TLS / mutual-TLS tests (test/intake-bad-input.test.ts) make a throwaway CA and certificates
# with the openssl command line.
apt_install openssl
