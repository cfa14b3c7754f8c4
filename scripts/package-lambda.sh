#!/bin/sh
# Builds the AWS Lambda package: a zip with `bootstrap` and lib/. `bootstrap` is job-fetcher
# linked with the interpreter /var/task/lib/ld-linux-x86-64.so.2 and DT_RPATH /var/task/lib.
# lib/ contains every shared library it loads, glibc and its loader included, so the package
# starts on provided.al2023 (glibc 2.34) although it was built on Debian 12 (glibc 2.36).
#
# Usage: package-lambda.sh --binary PATH --output ZIP [--loader-path PATH] [--no-strip]
#
# Checks before zipping, each failing the script:
#   - the binary's interpreter is the bundled loader path;
#   - every DT_NEEDED entry of every file in the package is in lib/;
#   - every GLIBC_x.y symbol version a file needs is defined by the bundled glibc, or, when
#     glibc is not bundled, is at most GLIBC_2.34.
set -eu

binary=""
output=""
loader_path="/var/task/lib/ld-linux-x86-64.so.2"
strip_binaries=1
# The glibc of Lambda's provided.al2023 runtime.
target_glibc="2.34"

usage() {
  echo "usage: $0 --binary PATH --output ZIP [--loader-path PATH] [--no-strip]" >&2
  exit 2
}

while [ $# -gt 0 ]; do
  case "$1" in
    --binary) binary="$2"; shift 2 ;;
    --output) output="$2"; shift 2 ;;
    --loader-path) loader_path="$2"; shift 2 ;;
    --no-strip) strip_binaries=0; shift ;;
    *) usage ;;
  esac
done
[ -n "$binary" ] && [ -n "$output" ] || usage
case "$output" in
  /*) ;;
  *) output="$(pwd)/$output" ;;
esac

fail() {
  echo "package-lambda: $*" >&2
  exit 1
}

for tool in ldd readelf objdump zip strip; do
  command -v "$tool" >/dev/null 2>&1 || fail "$tool is not installed (Debian: binutils, zip, libc-bin)"
done
[ -x "$binary" ] || fail "binary $binary does not exist or is not executable"

interpreter=$(readelf -l "$binary" | sed -n 's/.*\[Requesting program interpreter: \(.*\)\]/\1/p')
[ "$interpreter" = "$loader_path" ] ||
  fail "$binary requests interpreter '$interpreter', expected '$loader_path'; build the job-fetcher-lambda target"

staging=$(mktemp -d)
trap 'rm -rf "$staging"' EXIT
mkdir -p "$staging/lib"

# Step 1: bootstrap and the libraries ldd resolves on this host. ldd runs the host's loader, not
# the interpreter recorded in the binary, so it works although /var/task does not exist here.
cp "$binary" "$staging/bootstrap"
ldd "$binary" > "$staging/ldd.txt" || fail "ldd $binary failed"
if grep -q "not found" "$staging/ldd.txt"; then
  fail "ldd cannot resolve every library of $binary: $(grep 'not found' "$staging/ldd.txt" | tr '\n' ' ')"
fi
# Lines read "libcurl.so.4 => /lib/x86_64-linux-gnu/libcurl.so.4 (0x...)". The loader's line
# reads "/var/task/lib/ld-linux-x86-64.so.2 => /lib64/ld-linux-x86-64.so.2 (0x...)" because ldd
# resolves the recorded interpreter on this host. vdso has no file and is skipped.
awk '$2 == "=>" && $3 ~ /^\// && $1 !~ /^\// { print $1, $3 }' "$staging/ldd.txt" |
  while read -r soname path; do
    cp -L "$path" "$staging/lib/$soname"
  done
host_loader=$(awk -v wanted="$loader_path" '$1 == wanted && $2 == "=>" { print $3 }' "$staging/ldd.txt")
[ -n "$host_loader" ] || fail "ldd did not report the dynamic loader $loader_path of $binary"
cp -L "$host_loader" "$staging/lib/$(basename "$loader_path")"
rm "$staging/ldd.txt"

if [ "$strip_binaries" -eq 1 ]; then
  strip --strip-unneeded "$staging/bootstrap" "$staging"/lib/*
fi
chmod 0755 "$staging/bootstrap" "$staging"/lib/*

# Step 2: the package is closed: every DT_NEEDED of every file is in lib/.
missing=""
for file in "$staging/bootstrap" "$staging"/lib/*; do
  for needed in $(readelf -d "$file" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
    [ -f "$staging/lib/$needed" ] || missing="$missing $(basename "$file")->$needed"
  done
done
[ -z "$missing" ] || fail "libraries missing from the package:$missing"

# Step 3: every GLIBC symbol version a file needs is available inside the package.
objdump -T "$staging/bootstrap" "$staging"/lib/* 2>/dev/null |
  grep -o 'GLIBC_[0-9][0-9.]*' | sort -u -V > "$staging/.required"
highest_required=$(tail -n 1 "$staging/.required")
if [ -f "$staging/lib/libc.so.6" ]; then
  objdump -p "$staging"/lib/libc.so.6 "$staging"/lib/libm.so.6 "$staging/lib/$(basename "$loader_path")" 2>/dev/null |
    grep -o 'GLIBC_[0-9][0-9.]*' | sort -u > "$staging/.defined"
  unmet=$(sort "$staging/.required" | comm -23 - "$staging/.defined" | tr '\n' ' ')
  [ -z "$unmet" ] || fail "symbol versions not defined by the bundled glibc: $unmet"
  echo "package-lambda: highest symbol version needed is $highest_required, bundled glibc provides it"
else
  newest=$(printf '%s\nGLIBC_%s\n' "$highest_required" "$target_glibc" | sort -V | tail -n 1)
  [ "$newest" = "GLIBC_$target_glibc" ] ||
    fail "glibc is not bundled and the package needs $highest_required, newer than GLIBC_$target_glibc"
fi
rm -f "$staging/.required" "$staging/.defined"

# Step 4: zip with bootstrap at the root. -X leaves out extra file attributes. Without -y, zip
# stores the files that symbolic links point to, so lib/ contains only plain files.
rm -f "$output"
(cd "$staging" && zip -q -X -r "$output.tmp" bootstrap lib)
mv "$output.tmp" "$output"
echo "package-lambda: wrote $output ($(du -k "$output" | cut -f1) KiB, $(ls "$staging/lib" | wc -l) libraries)"
