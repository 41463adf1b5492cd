#!/bin/sh
# Build the BlueZ test guest's initramfs from this machine's own packages.
#
# The guest has no disk image: its kernel is the host's linux-image-amd64, and its
# initramfs holds only busybox (static), the virtio/9p modules that mount the host's
# root over virtio-9p, and init.sh. Everything else (bluetoothd, dbus, python, the
# project and its .venv) is read from the host, read-only.
#
# usage: build-initramfs.sh OUT_DIR   (writes OUT_DIR/vmlinuz, OUT_DIR/initramfs.gz)
set -eu
out=${1:?usage: build-initramfs.sh OUT_DIR}
here=$(cd "$(dirname "$0")" && pwd)

kernel=$(ls /boot/vmlinuz-*-amd64 2>/dev/null | sort -V | tail -n 1)
[ -n "$kernel" ] || { echo "build-initramfs: no /boot/vmlinuz-*-amd64: install linux-image-amd64" >&2; exit 1; }
release=${kernel#/boot/vmlinuz-}
modules=/lib/modules/$release
[ -d "$modules" ] || { echo "build-initramfs: no $modules for $kernel: reinstall linux-image-amd64" >&2; exit 1; }
busybox=$(command -v busybox || true)
[ -n "$busybox" ] || { echo "build-initramfs: no busybox: install busybox-static" >&2; exit 1; }
if ldd "$busybox" >/dev/null 2>&1; then
  echo "build-initramfs: $busybox is dynamically linked: install busybox-static" >&2; exit 1
fi
[ -r "$kernel" ] || { echo "build-initramfs: cannot read $kernel (run as root, or chmod a+r it)" >&2; exit 1; }

root=$out/initramfs.d
rm -rf "$root"
mkdir -p "$root/bin" "$root/proc" "$root/sys" "$root/dev" "$root/newroot" "$root/modules"
cp "$busybox" "$root/bin/busybox"
# The order matters: each module needs the ones before it (insmod resolves nothing).
for module in virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci \
  9pnet 9pnet_virtio netfs fscache 9p; do
  file=$(find "$modules/kernel" -name "$module.ko*" | head -n 1)
  [ -n "$file" ] || { echo "build-initramfs: module $module not found under $modules" >&2; exit 1; }
  case $file in
    *.ko) cp "$file" "$root/modules/$module.ko" ;;
    *.ko.xz) xz -dc "$file" >"$root/modules/$module.ko" ;;
    *.ko.zst) zstd -qdc "$file" >"$root/modules/$module.ko" ;;
    *) echo "build-initramfs: cannot unpack $file" >&2; exit 1 ;;
  esac
  echo "$module" >>"$root/modules/order"
done
cp "$here/init.sh" "$root/init"
chmod 755 "$root/init"
cp "$kernel" "$out/vmlinuz"
(cd "$root" && find . | cpio -o -H newc --quiet) | gzip -1 >"$out/initramfs.gz.new"
mv "$out/initramfs.gz.new" "$out/initramfs.gz"
echo "$release" >"$out/release"
echo "build-initramfs: $out/initramfs.gz for $release"
