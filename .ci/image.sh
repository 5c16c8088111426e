# The operator image's identity, sourced by .ci/build-image and .ci/check-image so that the build and its
# check (including the Containerfile consistency check) read the same values. Keep the Containerfile in step.

IMAGE_NAME=ccs-operator
IMAGE_USER=65532:65532
IMAGE_ENTRYPOINT='["/usr/local/bin/ccs-operator"]'
IMAGE_CMD='["run"]'
IMAGE_LABEL_KEYS=(title description source version revision licenses created)

# A field of the top-level Cargo.toml's [package] section, or of [workspace.package] when the package
# inherits it (`version.workspace = true`), so this keeps working in a Cargo workspace.
cargo_field() { # cargo_field NAME
  local section v
  for section in '[package]' '[workspace.package]'; do
    v=$(awk -v s="$section" -v k="$1" '
      /^\[/ {cur = $0}
      cur == s && $0 ~ "^" k " *= *\"" {sub(/^[^"]*"/, ""); sub(/"[^"]*$/, ""); print; exit}' Cargo.toml)
    [ -n "$v" ] && { echo "$v"; return 0; }
  done
  echo "error: no $1 for the package in Cargo.toml" >&2
  return 1
}

# The org.opencontainers.image.source label: IMAGE_SOURCE, else the git remote `origin` (without any
# credentials in it); the repository has no published URL yet, hence the placeholder.
image_source() {
  local url=${IMAGE_SOURCE:-$(git remote get-url origin 2>/dev/null || true)}
  url=$(printf '%s' "$url" | sed -E 's#^(https?://)[^/@]*@#\1#')
  echo "${url:-https://example.invalid/ccs-operator}"
}

# Installs Debian packages (CI starts from a fresh machine); `need` only when the command is missing.
apt_install() {
  echo "== installing $*"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q "$@" >/dev/null || { apt-get update -q >/dev/null && apt-get install -y -q "$@" >/dev/null; }
}
need() { command -v "$1" >/dev/null || apt_install "${@:2}"; } # need COMMAND PACKAGE...
