# Sourced by the install scripts: apt helpers that survive a mirror caught mid-sync.
# Uses $sudo ("" when root, "sudo" otherwise).

# apt-get update, retried: a mirror in the middle of a sync serves index files of the wrong
# size for a minute or two. After three failures the indexes at hand are used.
apt_update() {
  local i
  for i in 1 2 3; do
    if $sudo apt-get update -qq; then return 0; fi
    echo "apt: apt-get update failed (attempt $i of 3); retrying in $((i * 10)) s" >&2
    sleep $((i * 10))
  done
  echo "apt: apt-get update keeps failing; installing with the package indexes at hand" >&2
}

# apt-get install of the given packages, retried once after a fresh update.
apt_install() {
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$@" && return 0
  echo "apt: installing $* failed; updating the indexes and trying once more" >&2
  apt_update
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$@"
}
