#!/usr/bin/env bash
# Makes sure the Debian packages in tools/system-packages.txt are installed (make sysdeps).
# As root: apt-get install -y whatever is missing, required and optional (apt-get update first
# when apt has no package lists, or when the install fails without fresh ones). As another user:
# stops with the one install line when a required package is missing, and names missing optional
# ones (the tests that need them skip). Quick when everything is present: one dpkg-query call.
set -euo pipefail
cd "$(dirname "$0")/.."
required=() optional=()
while read -r name kind _; do
  case "$kind" in
    required) required+=("$name") ;;
    optional) optional+=("$name") ;;
  esac
done < <(grep -v '^[[:space:]]*\(#\|$\)' tools/system-packages.txt)

if ! command -v dpkg-query > /dev/null; then
  echo "sysdeps: not a Debian system; make sure these (or your system's equivalents) are" \
       "installed: ${required[*]} (optional: ${optional[*]})"
  exit 0
fi

# Prints the packages of "$@" that are not installed.
missing_of() {
  local installed
  installed=$(dpkg-query -W -f='${Package} ${db:Status-Abbrev}\n' "$@" 2>/dev/null || true)
  local p
  for p in "$@"; do
    grep -q "^$p ii" <<< "$installed" || echo "$p"
  done
}
mapfile -t miss_req < <(missing_of "${required[@]}")
mapfile -t miss_opt < <(missing_of "${optional[@]}")
(( ${#miss_req[@]} + ${#miss_opt[@]} )) || exit 0

if [[ $(id -u) == 0 ]]; then
  export DEBIAN_FRONTEND=noninteractive
  if ! compgen -G '/var/lib/apt/lists/*_Packages' > /dev/null; then
    apt-get update -qq
  fi
  # apt-get install "$@", with fresh package lists if the first try fails.
  apt_install() {
    apt-get install -y -qq --no-install-recommends "$@" > /dev/null 2>&1 ||
      { apt-get update -qq && apt-get install -y -qq --no-install-recommends "$@" > /dev/null; }
  }
  if (( ${#miss_req[@]} )); then
    echo "sysdeps: installing ${miss_req[*]}"
    apt_install "${miss_req[@]}"
  fi
  if (( ${#miss_opt[@]} )); then
    echo "sysdeps: installing ${miss_opt[*]}"
    # An optional package that cannot be installed (a conflict with what the machine has) only
    # skips the tests that need it.
    if ! apt_install "${miss_opt[@]}" 2> /dev/null; then
      for p in "${miss_opt[@]}"; do
        apt_install "$p" 2> /dev/null || echo "sysdeps: could not install $p (optional: its tests skip)"
      done
    fi
  fi
  exit 0
fi

if (( ${#miss_req[@]} )); then
  echo "missing system packages; run: sudo apt-get install -y ${miss_req[*]} ${miss_opt[*]}" >&2
  exit 1
fi
echo "sysdeps: optional packages missing (their tests skip): ${miss_opt[*]};" \
     "to run them: sudo apt-get install -y ${miss_opt[*]}"
