#!/usr/bin/env bash
# mmdebstrap --customize-hook for the local distroless-style base (scripts/image.sh): what
# gcr.io/distroless/cc-debian12:nonroot adds around its extracted packages. $1 is the root.
set -euo pipefail
root="$1"
# No package manager in the image: drop apt's and dpkg's state and mmdebstrap's leftovers.
rm -rf "$root"/etc/apt "$root"/var/lib/apt "$root"/var/cache/apt "$root"/var/cache/ldconfig \
  "$root"/var/lib/dpkg "$root"/etc/dpkg "$root"/var/log/* "$root"/usr/share/man
# Packages are extracted without dpkg's path filters: drop docs (keeping copyright files),
# manuals, translations and debugger helpers.
find "$root/usr/share/doc" -type f ! -name copyright -delete
find "$root/usr/share/doc" -type l -delete
rm -rf "$root"/usr/share/info "$root"/usr/share/lintian "$root"/usr/share/locale "$root"/usr/share/gdb
cat >"$root/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin
nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin
PASSWD
cat >"$root/etc/group" <<'GROUP'
root:x:0:
nobody:x:65534:
tty:x:5:
staff:x:50:
nonroot:x:65532:
GROUP
printf 'passwd: files\ngroup: files\nshadow: files\nhosts: files dns\nnetworks: files\nprotocols: files\nservices: files\n' \
  >"$root/etc/nsswitch.conf"
install -d -m 0700 -o 65532 -g 65532 "$root/home/nonroot"
install -d -m 0700 "$root/root"
install -d -m 1777 "$root/tmp"
# The CA bundle and time zones, from this Debian 12 host's ca-certificates and tzdata
# (distroless ships both; installing them here would pull in perl and debconf).
install -d "$root/etc/ssl/certs" "$root/usr/share"
cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/"
cp -a /usr/share/zoneinfo "$root/usr/share/"
